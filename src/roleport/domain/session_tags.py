"""Certificate -> principal (session) tags, by a profile's attribute mappings.

AWS (aws-behaviour §4.2-4.3): each recognised RDN of the Subject and the Issuer becomes
``x509Subject/<RDN>`` / ``x509Issuer/<RDN>``; of the subjectAltName only the *first* DNS
name, the first URI and the first directory name are mapped, as ``x509SAN/DNS``,
``x509SAN/URI`` and ``x509SAN/Name/<RDN>``. An attribute present several times is joined
with ``/`` in certificate order (``OU=Security, OU=Engineering`` ->
``Security/Engineering``). A profile's mapping rules pick what is kept: ``*`` every RDN,
``CN`` one, ``DNS``/``URI``/``Name/*``/``Name/CN`` for the SAN.

Roleport adds two SAN specifiers for SPIFFE (docs/trust-sources.md): ``spiffe/trustDomain``
and ``spiffe/path`` map the trust domain and the path of the first URI SAN, when it is a
SPIFFE ID, as ``x509SAN/spiffe/trustDomain`` and ``x509SAN/spiffe/path``.

Values must be valid STS session tags (``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*``, at most 256
characters). AWS's documents say invalid values are ignored; the service observably refuses
the whole request (``Some attributes failed to be mapped into session tags``). Which one
Roleport does is a setting: :data:`FAIL` (the default) or :data:`DROP`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import regex

from roleport.crypto.certificates import Certificate
from roleport.crypto.errors import CryptoError
from roleport.crypto.spiffe import parse_spiffe_id
from roleport.domain.model import AttributeMapping

__all__ = ["DROP", "FAIL", "MappedTags", "map_certificate", "tag_value_problem"]

FAIL = "fail"
DROP = "drop"
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256
MAX_TAGS = 50
_TAG_PATTERN = regex.compile(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*", regex.V0)


@functools.lru_cache(maxsize=8192)
def is_tag_text(value: str) -> bool:
    """Whether ``value`` uses only the characters STS allows in tags and source identities
    (remembered: the same certificate attributes come back on every session)."""
    return _TAG_PATTERN.fullmatch(value) is not None
_FIELD_LABELS = {"x509Issuer": "Issuer", "x509Subject": "Subject", "x509SAN": "SAN"}


@dataclass
class MappedTags:
    """The session tags of one certificate, and what could not become a tag."""

    #: ``(key, value)`` in mapping order, keys without the ``aws:PrincipalTag/`` prefix
    tags: list[tuple[str, str]] = field(default_factory=list)
    #: certificate field -> the attribute names whose value is not a valid tag
    invalid: dict[str, list[str]] = field(default_factory=dict)

    @property
    def has_invalid(self) -> bool:
        return any(self.invalid.values())

    def invalid_summary(self) -> str:
        """``Issuer: [  ]; Subject: [ CN ]; SAN: [ DNS ]``, as AWS words it."""
        parts = []
        for certificate_field, label in _FIELD_LABELS.items():
            names = self.invalid.get(certificate_field, [])
            parts.append(f"{label}: [ {', '.join(names)} ]" if names else f"{label}: [  ]")
        return "; ".join(parts)


def tag_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be an STS session tag value, or ``None``."""
    if len(value) > MAX_VALUE_LENGTH:
        return f"longer than {MAX_VALUE_LENGTH} characters"
    if not is_tag_text(value):
        return r"not matching [\p{L}\p{Z}\p{N}_.:/=+\-@]*"
    return None


def _joined(attributes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Group repeated attribute names, values joined with ``/``, first-seen order."""
    grouped: dict[str, list[str]] = {}
    for name, value in attributes:
        grouped.setdefault(name, []).append(value)
    return [(name, "/".join(values)) for name, values in grouped.items()]


def _select(attributes: list[tuple[str, str]], specifiers: list[str],
            prefix: str = "") -> list[tuple[str, str]]:
    """Attributes picked by specifiers such as ``*``, ``CN`` (``prefix`` + name)."""
    joined = _joined(attributes)
    if any(s == prefix + "*" for s in specifiers):
        return joined
    wanted = {s[len(prefix):] for s in specifiers if s.startswith(prefix)}
    return [(name, value) for name, value in joined if name in wanted]


_SPIFFE_SPECIFIERS = ("spiffe/trustDomain", "spiffe/path")


def _spiffe_attributes(uri: str, specifiers: list[str]) -> list[tuple[str, str]]:
    try:
        spiffe_id = parse_spiffe_id(uri)
    except CryptoError:
        return []  # not a SPIFFE ID: nothing to map
    values = {"spiffe/trustDomain": spiffe_id.trust_domain, "spiffe/path": spiffe_id.path}
    return [(name, values[name]) for name in _SPIFFE_SPECIFIERS
            if name in specifiers and values[name]]


def _field_attributes(certificate: Certificate, certificate_field: str,
                      specifiers: list[str]) -> list[tuple[str, str]]:
    """``(attribute name under the field, value)`` for one mapping."""
    if certificate_field == "x509Subject":
        return _select(certificate.subject_attributes, specifiers)
    if certificate_field == "x509Issuer":
        return _select(certificate.issuer_attributes, specifiers)
    if certificate_field != "x509SAN":
        return []
    found: list[tuple[str, str]] = []
    if "DNS" in specifiers and certificate.san_dns:
        found.append(("DNS", certificate.san_dns[0]))
    if "URI" in specifiers and certificate.san_uris:
        found.append(("URI", certificate.san_uris[0]))
    if certificate.san_uris and any(s in _SPIFFE_SPECIFIERS for s in specifiers):
        found += _spiffe_attributes(certificate.san_uris[0], specifiers)
    names = certificate.san_directory_names
    if names:
        found += [(f"Name/{name}", value)
                  for name, value in _select(names[0], specifiers, prefix="Name/")]
    return found


def map_certificate(certificate: Certificate, mappings: list[AttributeMapping]) -> MappedTags:
    """The session tags ``certificate`` yields under ``mappings`` (invalid values apart)."""
    result = MappedTags()
    seen: set[str] = set()
    for mapping in mappings:
        for name, value in _field_attributes(certificate, mapping.certificate_field,
                                             mapping.specifiers):
            key = f"{mapping.certificate_field}/{name}"
            if key in seen:
                continue
            seen.add(key)
            if tag_value_problem(value) is not None or len(key) > MAX_KEY_LENGTH:
                result.invalid.setdefault(mapping.certificate_field, []).append(name)
                continue
            result.tags.append((key, value))
    return result
