"""CreateSession: a certificate-signed request in, temporary credentials out.

The checks and their order are :mod:`roleport.domain.session_checks` (shared with
``roleport explain``); the first that fails decides the answer, always
``403 AccessDeniedException`` with AWS's observed message. This service reads what they
need (trust anchor, profile, the anchor's CRLs: kept for a short while, see
domain/freshness), runs them, and records the attempt.

AWS's messages are terse on purpose; Roleport's :class:`SessionAudit` names the check
and the precise reason ("certificate has expired (CN=x, notAfter ...)"), and the subject
record of the certificate keeps it too, so an operator can answer "why was this
certificate refused" without guessing.

Every attempt whose trust anchor exists and whose certificate parsed updates the subject
of its X.509 subject DN (an X.509-SVID without one: of its SPIFFE ID; created on first
sight): ``lastSeenAt``, the most recent certificates with ``failed`` and the reason, and
the instance properties sent.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from roleport import arns
from roleport.clock import Clock
from roleport.crypto.certificates import Certificate, load_pem_bundle
from roleport.crypto.crls import Crl, load_crl
from roleport.crypto.errors import CryptoError
from roleport.crypto.paths import TrustStore
from roleport.domain.context import Scope
from roleport.domain.freshness import DEFAULT_MAX_AGE, ChangeCounter, Kept
from roleport.domain.model import (
    CredentialRecord,
    InstancePropertyRecord,
    Profile,
    Subject,
    TrustAnchor,
)
from roleport.domain.revocation import DistributionPointCache, OcspChecker
from roleport.domain.session_checks import (
    INVALID_SIGNATURE,
    PresentedCredential,
    SessionAudit,
    SessionChecks,
    SessionRequest,
    SessionSettings,
    source_identity_for,
)
from roleport.domain.session_run import run_checks
from roleport.domain.spiffe import BundlePaths, SpiffeBundles
from roleport.domain.subjects import subject_key
from roleport.errors import AuthenticationError, RoleportError
from roleport.ids import new_uuid
from roleport.storage.base import ConflictingWrite, StorageError, UnitOfWorkFactory
from roleport.sts.issuer import CredentialIssuer, IssuedCredentials

__all__ = [
    "INVALID_SIGNATURE",
    "PresentedCredential",
    "SessionAudit",
    "SessionRequest",
    "SessionResult",
    "SessionService",
    "SessionSettings",
    "source_identity_for",
]

#: how many recent certificates and instance-property sets a subject keeps
SUBJECT_HISTORY = 10
#: a success by the same certificate (same instance properties) within this window of the
#: one recorded is not written again: the record would differ only in its timestamps
SUBJECT_WRITE_INTERVAL = timedelta(seconds=1)


@dataclass(frozen=True)
class SessionResult:
    credentials: IssuedCredentials
    role_arn: str
    subject_arn: str


class _Lru:
    """A small thread-safe LRU of values built from a key."""

    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def peek(self, key: Any) -> Any:
        with self._lock:
            return self._items.get(key)

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def get(self, key: Any, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


class SessionService:
    def __init__(self, store: UnitOfWorkFactory, clock: Clock, issuer: CredentialIssuer,
                 settings: SessionSettings | None = None,
                 distribution_points: DistributionPointCache | None = None,
                 changes: ChangeCounter | None = None,
                 max_age: timedelta = DEFAULT_MAX_AGE,
                 ocsp: OcspChecker | None = None,
                 spiffe: SpiffeBundles | None = None) -> None:
        self.store = store
        self.clock = clock
        self.issuer = issuer
        self.settings = settings or SessionSettings()
        self.distribution_points = distribution_points
        self.ocsp = ocsp
        self.spiffe = spiffe
        self._trust_stores = _Lru()
        self._crls = _Lru(1024)
        self._recorded = _Lru(4096)
        self.changes = changes or ChangeCounter()
        self._resources = Kept(self.changes, max_age)
        self.checks = SessionChecks(
            self.settings, distribution_points, self._trust_store, ocsp=ocsp,
            spiffe=BundlePaths(spiffe) if spiffe is not None else None,
            follow_bundle=self._follow_bundle)

    # -- the use case ------------------------------------------------------------------

    def create_session(self, request: SessionRequest, audit: SessionAudit) -> SessionResult:
        """Run every check in order and return the issued credentials.

        ``audit`` is filled in as the checks run, whether they pass or not. Raises
        AccessDeniedError (or the issuer's error) when a check fails.
        """
        audit.trust_anchor_arn = request.trust_anchor_arn
        audit.profile_arn = request.profile_arn
        audit.role_arn = request.role_arn
        audit.region = request.credential.region
        certificate = request.credential.certificate
        if certificate is not None:
            audit.x509_subject = certificate.subject_dn
            audit.serial = certificate.serial_hex
            audit.issuer = certificate.issuer_dn
        now = self.clock.now()
        try:
            anchor, profile, crls = self._load(request)
            _, issued = run_checks(self.checks, request, audit, anchor=anchor,
                                   profile=profile, crls=crls, now=now,
                                   assume=self.issuer.assume_role)
        except RoleportError as exc:
            if audit.check is None:
                audit.check, audit.reason = "assume-role", exc.message
            # A refused attempt is recorded on the subject only when the trust anchor exists
            # (its account is known) and the caller proved it holds the certificate's key:
            # unauthenticated traffic must not be able to write to the database.
            if audit.account_id is not None and self._proves_key(request, audit, now):
                self._record_attempt(Scope(audit.account_id, request.credential.region),
                                     request, audit, now, failed=True)
            raise
        assert issued is not None and anchor is not None
        audit.outcome = "issued"
        subject = self._record_attempt(Scope(anchor.account_id, anchor.region), request,
                                       audit, now, failed=False)
        assert subject is not None  # a request without a certificate fails its signature
        return SessionResult(issued, request.role_arn, subject.arn)

    # -- reading what the checks need -----------------------------------------------------

    def _read_resources(self, scope: Scope, ref: arns.ResourceRef, profile_arn: str,
                        ) -> tuple[TrustAnchor | None, Profile | None, list[tuple[str, bytes]]]:
        """The trust anchor, the profile and the anchor's enabled CRLs, in one read, kept
        for a short while (see domain/freshness): every session of a fleet names the same
        few resources."""
        return self._resources.get(  # type: ignore[return-value]
            (scope, ref, profile_arn), partial(self._read_resources_now, scope, ref, profile_arn),
            keep=lambda found: found[0] is not None)  # type: ignore[index]

    def _read_resources_now(self, scope: Scope, ref: arns.ResourceRef, profile_arn: str,
                            ) -> tuple[TrustAnchor | None, Profile | None,
                                       list[tuple[str, bytes]]]:
        profile_ref = arns.parse_roles_anywhere(profile_arn)
        with self.store() as uow:
            if ref.resource_id is not None:
                anchor = uow.trust_anchors.get(scope, ref.resource_id)
            else:
                anchor = uow.trust_anchors.get_by(scope, alias_name=ref.alias_name)
            if anchor is None:
                return None, None, []
            profile = None
            if (profile_ref is not None and profile_ref.resource_type == "profile"
                    and profile_ref.account == scope.account_id
                    and profile_ref.region == scope.region):
                if profile_ref.resource_id is not None:
                    profile = uow.profiles.get(scope, profile_ref.resource_id)
                else:
                    profile = uow.profiles.get_by(scope, alias_name=profile_ref.alias_name)
            crls = [(c.id + c.updated_at.isoformat(), c.crl_data) for c in
                    uow.crls.all(scope, trust_anchor_id=anchor.id) if c.enabled]
        return anchor, profile, crls

    def _load(self, request: SessionRequest,
              ) -> tuple[TrustAnchor | None, Profile | None, list[Crl]]:
        """Trust anchor, profile and the anchor's enabled CRLs (None: not found; an ARN
        that cannot name a trust anchor of the signature's region is not looked up)."""
        region = request.credential.region
        ref = arns.parse_roles_anywhere(request.trust_anchor_arn)
        if ref is None or ref.resource_type != "trust-anchor" or ref.region != region:
            return None, None, []
        anchor, profile, crls = self._read_resources(Scope(ref.account, region), ref,
                                                     request.profile_arn)
        parsed = []
        for key, data in crls:
            try:
                parsed.append(self._crls.get(key, partial(load_crl, data)))
            except CryptoError:  # checked at import; a CRL that no longer parses is skipped
                continue
        return anchor, profile, parsed

    def _proves_key(self, request: SessionRequest, audit: SessionAudit, now: datetime) -> bool:
        """Whether the signature verifies (checked now when a refusal came before it)."""
        if audit.signature_verified:
            return True
        if audit.check in ("signature", "clock-skew"):
            return False
        try:
            request.credential.verify(now=now, max_skew=self.settings.max_skew)
        except (AuthenticationError, CryptoError):
            return False
        return True

    def _trust_store(self, anchor: TrustAnchor) -> TrustStore:
        key = (anchor.id, anchor.updated_at)
        return self._trust_stores.get(key, lambda: TrustStore(
            load_pem_bundle(anchor.certificate_bundle or "")))

    def _follow_bundle(self, anchor: TrustAnchor, pem: str, now: datetime) -> None:
        """Rewrite the anchor's x509CertificateData to the SPIFFE bundle's authorities, so
        what GetTrustAnchor shows is what CreateSession trusts."""
        if anchor.source_data.get("x509CertificateData") == pem:
            return
        with self.store(write=True) as uow:
            stored = uow.trust_anchors.get(Scope(anchor.account_id, anchor.region), anchor.id,
                                           for_update=True)
            if stored is None or stored.source_data.get("x509CertificateData") == pem:
                return
            stored.source_data = {"x509CertificateData": pem}
            stored.updated_at = now
            uow.trust_anchors.update(stored)
        self.changes.bump()

    # -- subjects -----------------------------------------------------------------------

    def _record_attempt(self, scope: Scope, request: SessionRequest, audit: SessionAudit,
                        now: datetime, *, failed: bool) -> Subject | None:
        certificate = request.credential.certificate
        if certificate is None:
            return None
        # a subject is its DN; an X.509-SVID without one is recorded under its SPIFFE ID
        name = certificate.subject_dn or audit.spiffe_id
        if not name:
            return None  # nothing to record without a name
        reason = f"{audit.check}: {audit.reason}" if failed else None
        memo_key = (scope, certificate.der, frozenset((request.instance_properties or {})
                                                      .items()))
        if not failed:
            recent = self._recorded.peek(memo_key)
            if recent is not None and now - recent[0] < SUBJECT_WRITE_INTERVAL:
                audit.subject_arn = recent[1].arn
                return recent[1]
        try:
            subject = self._save_subject(scope, name, certificate,
                                         request.instance_properties, now, failed, reason)
        except StorageError:
            if not failed:
                raise
            return None  # the refusal is what the caller must see
        self._recorded.put(memo_key, None if failed else (now, subject))
        audit.subject_arn = subject.arn
        return subject

    def _save_subject(self, scope: Scope, dn: str, certificate: Certificate,
                      properties: dict[str, str] | None, now: datetime, failed: bool,
                      reason: str | None) -> Subject:
        for attempt in range(2):
            try:
                # bookkeeping, rewritten by the next session: no wait on the disk for it
                with self.store(write=True, durable=False) as uow:
                    subject = uow.subjects.get_by(scope, for_update=True,
                                                  subject_key=subject_key(dn))
                    if subject is None:
                        subject = Subject(id=new_uuid(), account_id=scope.account_id,
                                          region=scope.region, x509_subject=dn, enabled=True,
                                          last_seen_at=now, created_at=now, updated_at=now)
                        _remember(subject, certificate, properties, now, failed, reason)
                        uow.subjects.add(subject)
                    else:
                        _remember(subject, certificate, properties, now, failed, reason)
                        subject.updated_at = now
                        uow.subjects.update(subject)
                return subject
            except ConflictingWrite:
                if attempt:  # a concurrent first sight of the same DN: read it and update
                    raise
        raise AssertionError("unreachable")


def _remember(subject: Subject, certificate: Certificate, properties: dict[str, str] | None,
              now: datetime, failed: bool, reason: str | None) -> None:
    subject.last_seen_at = now
    serial, issuer = certificate.serial_decimal, certificate.issuer_dn
    others = [c for c in subject.credentials
              if not (c.serial_number == serial and c.issuer == issuer)]
    record = CredentialRecord(seen_at=now, serial_number=serial, issuer=issuer, enabled=True,
                              x509_certificate_data=certificate.pem, failed=failed,
                              failure_reason=reason)
    subject.credentials = [record, *others][:SUBJECT_HISTORY]
    if properties:
        rest = [p for p in subject.instance_properties if p.properties != properties]
        subject.instance_properties = [
            InstancePropertyRecord(seen_at=now, properties=dict(properties), failed=failed),
            *rest][:SUBJECT_HISTORY]
