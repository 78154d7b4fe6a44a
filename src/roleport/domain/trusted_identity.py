"""Trusted identity propagation (TIP): a profile's certificate field becomes the session's
``aws:OriginIdentity/*`` keys (aws-behaviour §7A; AWS user guide "Trusted identity
propagation", API reference ``TipConfiguration``).

* ``subject_source`` picks the field: ``x509Subject/CN`` (the default) or ``x509SAN/URI``
  (the first URI of the subjectAltName). Its value becomes ``aws:OriginIdentity/Subject``.
* ``subject_type`` (``user`` | ``workload``) becomes ``aws:OriginIdentity/SubjectType``;
  omitted, the sessions have no such key.
* While TIP is ``ENABLED`` the profile's attribute mappings must keep a rule for the field
  (``CN`` or ``*`` under ``x509Subject``; ``URI`` under ``x509SAN``): the defaults have
  one for each. A change that would break that is refused (:func:`check_mappings`).
* While TIP is ``ENABLED``, CreateSession refuses a certificate without a value for the
  field (:func:`origin_identity` raises :class:`MissingSubject`).

``aws:OriginIdentity/Issuer`` is not set: AWS documents it for web identity and SAML
federation (and workload identity providers), not for Roles Anywhere certificates. The
trust anchor is ``aws:SourceArn``.
"""

from __future__ import annotations

from roleport.crypto.certificates import Certificate
from roleport.domain.model import AttributeMapping, TipConfiguration
from roleport.errors import ValidationError
from roleport.sts.claims import OriginIdentity

__all__ = ["DEFAULT_SUBJECT_SOURCE", "ENABLED", "MissingSubject", "OriginIdentity",
           "check_mappings", "configured", "origin_identity"]

ENABLED = "ENABLED"
DEFAULT_SUBJECT_SOURCE = "x509Subject/CN"

#: subject source -> (attribute mapping field, the specifiers that count as a rule for it)
_RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "x509Subject/CN": ("x509Subject", ("CN", "*")),
    "x509SAN/URI": ("x509SAN", ("URI",)),
}


class MissingSubject(Exception):  # noqa: N818 - a refusal, not a program error
    def __init__(self, subject_source: str) -> None:
        super().__init__(subject_source)
        self.subject_source = subject_source
        self.reason = (f"the certificate has no {subject_source} value, which the profile's "
                       f"trusted identity propagation uses as the subject")


def configured(status: str, subject_type: str | None,
               subject_source: str | None) -> TipConfiguration:
    """A profile's TIP settings as stored: the subject source's default filled in."""
    return TipConfiguration(status=status, subject_type=subject_type,
                            subject_source=subject_source or DEFAULT_SUBJECT_SOURCE)


def _has_rule(tip: TipConfiguration, mappings: list[AttributeMapping]) -> bool:
    certificate_field, accepted = _RULES[tip.subject_source or DEFAULT_SUBJECT_SOURCE]
    return any(m.certificate_field == certificate_field and set(accepted) & set(m.specifiers)
               for m in mappings)


def check_mappings(tip: TipConfiguration | None, mappings: list[AttributeMapping], *,
                   change: str) -> None:
    """Refuse (ValidationException) ``change`` when it leaves an enabled TIP without a
    mapping rule for its subject source."""
    if tip is None or tip.status != ENABLED or _has_rule(tip, mappings):
        return
    source = tip.subject_source or DEFAULT_SUBJECT_SOURCE
    certificate_field, accepted = _RULES[source]
    rules = " or ".join(f"'{s}'" for s in accepted)
    raise ValidationError(
        f"{change} would leave the profile's trusted identity propagation without an "
        f"attribute mapping rule for its subject source {source}: the {certificate_field} "
        f"mapping must keep the specifier {rules}.")


def _subject_value(certificate: Certificate, source: str) -> str | None:
    if source == "x509SAN/URI":
        return certificate.san_uris[0] if certificate.san_uris else None
    return certificate.common_name


def origin_identity(certificate: Certificate,
                    tip: TipConfiguration | None) -> OriginIdentity | None:
    """The session's origin identity, None when TIP is off; raises MissingSubject."""
    if tip is None or tip.status != ENABLED:
        return None
    source = tip.subject_source or DEFAULT_SUBJECT_SOURCE
    subject = _subject_value(certificate, source)
    if not subject:
        raise MissingSubject(source)
    return OriginIdentity(subject=subject, subject_type=tip.subject_type)
