"""Certificate expiry: which notification settings fire today, and the events AWS sends.

Evaluated as AWS does (aws-behaviour §6.4):

==============================  =============================  ==========================
event                           starts when                    ends
==============================  =============================  ==========================
``CA_CERTIFICATE_EXPIRY``       days to expiry <= threshold    14 days after expiry
``END_ENTITY_CERTIFICATE_...``  days to expiry <= threshold    on the day of expiry
==============================  =============================  ==========================

* Only enabled settings are evaluated, and only enabled trust anchors with a certificate
  bundle (an ``AWS_ACM_PCA`` source holds no certificate here).
* CA expiry: one event per trust anchor, for the certificate of its bundle that expires
  the soonest.
* End-entity expiry: one event per certificate seen by CreateSession in the last day, as
  the subjects record it (a refused attempt counts: a certificate that is in use and
  refused for its role is still about to expire). The setting that applies is
  that of the trust anchor(s) of the certificate's account and Region holding its issuer;
  several anchors: the largest threshold. (Subjects do not keep the chain a request sent,
  so intermediates are not evaluated.)

Days to expiry are whole days, rounded down: a certificate expiring in 23 hours is at 0.
Each expiry carries a ``key`` (event, scope, anchor for CA events, certificate, threshold):
the delivery log sends a key at most once per UTC day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from roleport.crypto.certificates import Certificate, load_pem_bundle
from roleport.crypto.errors import CryptoError
from roleport.domain.model import Subject, TrustAnchor

CA_EXPIRY = "CA_CERTIFICATE_EXPIRY"
END_ENTITY_EXPIRY = "END_ENTITY_CERTIFICATE_EXPIRY"
DETAIL_TYPE = "Roles Anywhere Certificate Expiration State Change"
SOURCE = "aws.rolesanywhere"
#: CA expiry events go on this many days after the certificate expired
CA_GRACE_DAYS = 14
#: end-entity certificates used within this window are evaluated
RECENT = timedelta(days=1)


@dataclass(frozen=True)
class Expiry:
    """One certificate that meets one notification setting today."""

    event: str
    account_id: str
    region: str
    trust_anchor_id: str
    trust_anchor_arn: str
    serial_number: str
    issuer: str
    subject: str
    not_after: datetime
    days_to_expiry: int
    threshold: int
    certificate_id: str

    @property
    def key(self) -> str:
        anchor = self.trust_anchor_id if self.event == CA_EXPIRY else "-"
        return "/".join((self.event, self.account_id, self.region, anchor,
                         self.certificate_id, str(self.threshold)))


def days_to_expiry(not_after: datetime, now: datetime) -> int:
    return (not_after - now) // timedelta(days=1)


def threshold_of(anchor: TrustAnchor, event: str) -> int | None:
    """The threshold of the anchor's enabled setting for ``event``, or None."""
    for setting in anchor.notification_settings:
        if setting.event == event and setting.enabled and setting.threshold:
            return setting.threshold
    return None


def certificate_id(certificate: Certificate) -> str:
    """AWS Health's ``certificateId``: lower-case hex SHA-256 of the DER certificate."""
    return hashlib.sha256(certificate.der).hexdigest()


def bundle_of(anchor: TrustAnchor) -> list[Certificate]:
    """The CA certificates of the anchor's bundle (none for a source without one)."""
    try:
        return load_pem_bundle(anchor.certificate_bundle or "")
    except CryptoError:
        return []


def _expiry(event: str, anchor: TrustAnchor, cert: Certificate, now: datetime,
            threshold: int) -> Expiry:
    return Expiry(event=event, account_id=anchor.account_id, region=anchor.region,
                  trust_anchor_id=anchor.id, trust_anchor_arn=anchor.arn,
                  serial_number=cert.serial_der_hex, issuer=cert.issuer_dn,
                  subject=cert.subject_dn, not_after=cert.not_after,
                  days_to_expiry=days_to_expiry(cert.not_after, now), threshold=threshold,
                  certificate_id=certificate_id(cert))


def ca_expiries(anchors: Iterable[TrustAnchor], now: datetime) -> list[Expiry]:
    found = []
    for anchor in anchors:
        threshold = threshold_of(anchor, CA_EXPIRY)
        bundle = bundle_of(anchor)
        if not anchor.enabled or threshold is None or not bundle:
            continue
        soonest = min(bundle, key=lambda c: c.not_after)
        days = days_to_expiry(soonest.not_after, now)
        if -CA_GRACE_DAYS <= days <= threshold:
            found.append(_expiry(CA_EXPIRY, anchor, soonest, now, threshold))
    return found


def recent_certificates(subjects: Iterable[Subject], now: datetime,
                        ) -> list[tuple[Subject, Certificate]]:
    """Certificates seen by CreateSession within :data:`RECENT` of ``now``."""
    seen: dict[tuple[str, str, bytes], tuple[Subject, Certificate]] = {}
    for subject in subjects:
        for record in subject.credentials:
            if now - record.seen_at > RECENT:
                continue
            try:
                cert = load_pem_bundle(record.x509_certificate_data)[0]
            except (CryptoError, IndexError):
                continue
            seen.setdefault((subject.account_id, subject.region, cert.der), (subject, cert))
    return list(seen.values())


def end_entity_expiries(anchors: Iterable[TrustAnchor], subjects: Iterable[Subject],
                        now: datetime) -> list[Expiry]:
    by_scope: dict[tuple[str, str], list[tuple[TrustAnchor, int, set[str]]]] = {}
    for anchor in anchors:
        threshold = threshold_of(anchor, END_ENTITY_EXPIRY)
        if anchor.enabled and threshold is not None:
            issuers = {c.subject_dn for c in bundle_of(anchor)}
            by_scope.setdefault((anchor.account_id, anchor.region), []).append(
                (anchor, threshold, issuers))
    found = []
    for subject, cert in recent_certificates(subjects, now):
        matches = [(threshold, anchor) for anchor, threshold, issuers
                   in by_scope.get((subject.account_id, subject.region), [])
                   if cert.issuer_dn in issuers]
        if not matches:
            continue
        threshold, anchor = max(matches, key=lambda m: m[0])
        days = days_to_expiry(cert.not_after, now)
        if 0 <= days <= threshold:
            found.append(_expiry(END_ENTITY_EXPIRY, anchor, cert, now, threshold))
    return found


def evaluate(anchors: list[TrustAnchor], subjects: list[Subject],
             now: datetime) -> list[Expiry]:
    """Every expiry event due at ``now``: CA certificates first, then end-entity ones."""
    return ca_expiries(anchors, now) + end_entity_expiries(anchors, subjects, now)


def eventbridge_event(expiry: Expiry, *, event_id: str, time: datetime) -> dict[str, object]:
    """The event as AWS puts it on EventBridge; the end-entity one has no ``resources``."""
    event: dict[str, object] = {
        "version": "0", "id": event_id, "detail-type": DETAIL_TYPE, "source": SOURCE,
        "account": expiry.account_id,
        "time": time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": expiry.region,
    }
    if expiry.event == CA_EXPIRY:
        event["resources"] = [expiry.trust_anchor_arn]
    event["detail"] = {"certificate-serial-number": expiry.serial_number,
                       "days-to-expiry": expiry.days_to_expiry, "issuer": expiry.issuer}
    return event


def delivery_day(now: datetime) -> str:
    """The UTC day a delivery counts against (at most one per key and day)."""
    return now.astimezone(timezone.utc).strftime("%Y-%m-%d")
