"""What one CreateSession attempt did, for the audit log, the subject record and
``roleport explain`` (no secrets, no credentials)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SessionAudit"]


@dataclass
class SessionAudit:
    """What one CreateSession did, for the audit log (no secrets, no credentials)."""

    trust_anchor_arn: str | None = None
    profile_arn: str | None = None
    role_arn: str | None = None
    account_id: str | None = None
    region: str | None = None
    outcome: str = "refused"
    #: which check refused the request (see the module table), None on success
    check: str | None = None
    #: the precise reason, for operators
    reason: str | None = None
    leniencies: set[str] = field(default_factory=set)
    x509_subject: str | None = None
    serial: str | None = None
    issuer: str | None = None
    subject_arn: str | None = None
    role_session_name: str | None = None
    source_identity: str | None = None
    #: aws:OriginIdentity/Subject of a profile with trusted identity propagation
    origin_subject: str | None = None
    duration_seconds: int | None = None
    dropped_tags: list[str] = field(default_factory=list)
    crl_distribution_point: str | None = None
    #: what OCSP established, one line per certificate of the path that names a responder
    ocsp: list[str] = field(default_factory=list)
    #: the X.509-SVID's SPIFFE ID (trust anchors following a SPIFFE bundle)
    spiffe_id: str | None = None
    #: the request signature verified with the presented certificate's key
    signature_verified: bool = False

    def fields(self) -> dict[str, Any]:
        out = {
            "outcome": self.outcome, "check": self.check, "reason": self.reason,
            "trustAnchorArn": self.trust_anchor_arn, "profileArn": self.profile_arn,
            "roleArn": self.role_arn, "account": self.account_id, "region": self.region,
            "leniencies": sorted(self.leniencies), "x509Subject": self.x509_subject,
            "serialNumber": self.serial, "issuer": self.issuer, "subjectArn": self.subject_arn,
            "roleSessionName": self.role_session_name,
            "sourceIdentity": self.source_identity, "originSubject": self.origin_subject,
            "durationSeconds": self.duration_seconds,
            "droppedTags": self.dropped_tags or None,
            "crlDistributionPoint": self.crl_distribution_point,
            "ocsp": self.ocsp or None, "spiffeId": self.spiffe_id,
        }
        return {k: v for k, v in out.items() if v not in (None, [])}
