"""SPIFFE: SPIFFE IDs, X.509-SVIDs and SPIFFE trust bundles (JWKS with x509-svid keys).

* :func:`parse_spiffe_id` applies the SPIFFE ID rules (``spiffe://trust-domain/path``:
  lower-case trust domain of ``[a-z0-9.-_]``, path segments of ``[A-Za-z0-9.-_]``, no
  empty/``.``/``..`` segment, no query, fragment, port or user info, at most 2048 bytes).
* :func:`check_x509_svid` applies the X.509-SVID rules to a leaf: exactly one URI SAN and
  it is a SPIFFE ID of the expected trust domain, CA false, keyUsage with
  digitalSignature and neither keyCertSign nor cRLSign. The subject may be empty.
* :func:`parse_bundle` reads a SPIFFE bundle (the JWKS of the SPIFFE Trust Domain and
  Bundle spec): the ``x509-svid`` keys' single ``x5c`` certificate each is an X.509
  authority (it must be fit to be a trust anchor); ``jwt-svid`` keys are ignored;
  ``spiffe_refresh_hint`` (seconds) and ``spiffe_sequence`` are read when present.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

from roleport.crypto.certificates import (
    Certificate,
    check_trust_anchor_certificate,
    load_der,
)
from roleport.crypto.errors import CertificateError, CryptoError

__all__ = ["BundleError", "SpiffeBundle", "SpiffeId", "check_x509_svid", "parse_bundle",
           "parse_spiffe_id"]

_TRUST_DOMAIN = re.compile(r"[a-z0-9._-]+")
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
MAX_ID_BYTES = 2048


class BundleError(CryptoError):
    """A SPIFFE bundle could not be read, or holds an unusable X.509 authority."""


@dataclass(frozen=True)
class SpiffeId:
    trust_domain: str
    path: str

    def __str__(self) -> str:
        return f"spiffe://{self.trust_domain}{self.path}"


@dataclass(frozen=True)
class SpiffeBundle:
    authorities: tuple[Certificate, ...]
    refresh_hint: int | None = None
    sequence: int | None = None

    @property
    def pem(self) -> str:
        return "".join(c.pem for c in self.authorities)


def parse_spiffe_id(uri: str) -> SpiffeId:
    """The SPIFFE ID in ``uri``, or CertificateError saying which rule it breaks."""
    if len(uri.encode("utf-8", "replace")) > MAX_ID_BYTES:
        raise CertificateError(f"SPIFFE ID longer than {MAX_ID_BYTES} bytes")
    if not uri.startswith("spiffe://"):
        raise CertificateError(f"'{uri[:80]}' is not a SPIFFE ID (spiffe://trust-domain/path)")
    rest = uri[len("spiffe://"):]
    if any(c in rest for c in "?#"):
        raise CertificateError("a SPIFFE ID has no query or fragment")
    domain, slash, path = rest.partition("/")
    if not _TRUST_DOMAIN.fullmatch(domain):
        raise CertificateError(f"SPIFFE ID trust domain '{domain}' must be lower-case "
                               f"letters, digits, '.', '-' or '_' (no port or user info)")
    path = slash + path
    if path == "/":
        raise CertificateError("a SPIFFE ID path must not end with '/'")
    if path:
        for segment in path[1:].split("/"):
            if segment in ("", ".", "..") or not _SEGMENT.fullmatch(segment):
                raise CertificateError(f"SPIFFE ID path segment '{segment}' is not allowed "
                                       f"(letters, digits, '.', '-', '_'; not empty, '.', '..')")
    return SpiffeId(domain, path)


def check_x509_svid(cert: Certificate, trust_domain: str) -> SpiffeId:
    """The SPIFFE ID of an X.509-SVID leaf of ``trust_domain``; CertificateError if not."""
    uris = cert.san_uris
    if len(uris) != 1:
        raise CertificateError(f"an X.509-SVID has exactly one URI SAN (this certificate has "
                               f"{len(uris)})")
    spiffe_id = parse_spiffe_id(uris[0])
    if spiffe_id.trust_domain != trust_domain:
        raise CertificateError(f"SVID {spiffe_id} is not of trust domain {trust_domain}")
    if cert.is_ca:
        raise CertificateError("an X.509-SVID leaf must not be a CA")
    if not cert.allows_key_usage("digital_signature"):
        raise CertificateError("an X.509-SVID leaf's keyUsage must include digitalSignature")
    if cert.allows_key_usage("key_cert_sign") or cert.allows_key_usage("crl_sign"):
        raise CertificateError("an X.509-SVID leaf's keyUsage must not include keyCertSign "
                               "or cRLSign")
    return spiffe_id


def parse_bundle(data: bytes) -> SpiffeBundle:
    """The X.509 authorities, refresh hint and sequence of a SPIFFE bundle (JWKS JSON)."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError("the SPIFFE bundle is not JSON", detail=str(exc)) from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise BundleError("the SPIFFE bundle is not a JWK set (no 'keys' list)")
    authorities: list[Certificate] = []
    for index, key in enumerate(document["keys"]):
        if not isinstance(key, dict) or key.get("use") != "x509-svid":
            continue
        chain = key.get("x5c")
        if not isinstance(chain, list) or len(chain) != 1 or not isinstance(chain[0], str):
            raise BundleError(f"x509-svid key {index} must have exactly one x5c certificate")
        try:
            cert = load_der(base64.b64decode(chain[0], validate=True))
        except (binascii.Error, ValueError):
            raise BundleError(f"x509-svid key {index}: x5c is not base64") from None
        except CryptoError as exc:
            raise BundleError(f"x509-svid key {index}: {exc.message}", detail=exc.detail) from None
        try:
            check_trust_anchor_certificate(cert)
        except CryptoError as exc:
            raise BundleError(f"x509-svid key {index} ({cert.subject_dn or 'no subject'}) "
                              f"cannot be an authority: {exc.message}") from None
        authorities.append(cert)
    if not authorities:
        raise BundleError("the SPIFFE bundle has no x509-svid key")
    return SpiffeBundle(tuple(dict.fromkeys(authorities)), _int(document, "spiffe_refresh_hint"),
                        _int(document, "spiffe_sequence"))


def _int(document: dict[str, object], name: str) -> int | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BundleError(f"the SPIFFE bundle's {name} must be a non-negative integer")
    return value
