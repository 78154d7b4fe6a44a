"""CreateSession: a certificate-signed request in, temporary credentials out.

The checks run in AWS's order (aws-behaviour §2.4); the first that fails decides the
answer, always ``403 AccessDeniedException`` with AWS's observed message:

======================  ==========================================================
check                   refused with
======================  ==========================================================
``trust-anchor``        Specified Trust Anchor wasn't found.   (unknown or disabled)
``profile``             Invalid or empty profile provided.     (unknown or disabled)
``signature``           Invalid signature                      (``clock-skew``: says so)
``certificate``         Untrusted signing certificate          (leaf rules, chain, path)
``revocation``          Untrusted signing certificate          (imported CRL, CRL DP, OCSP)
``role``                Requested Role isn't one of those listed in the Profile.
``role-session-name``   Not authorized to set roleSessionName
``trusted-identity``    Unable to assume role for ARN. The certificate has no ...
``session-tags``        Unable to assume role for ARN. Some attributes failed ...
``assume-role``         Unable to assume role for ARN...       (from the issuer)
======================  ==========================================================

AWS's messages are terse on purpose; Roleport's :class:`SessionAudit` names the check
and the precise reason ("certificate has expired (CN=x, notAfter ...)"), and the subject
record of the certificate keeps it too, so an operator can answer "why was this
certificate refused" without guessing.

Every attempt whose trust anchor exists and whose certificate parsed updates the subject
of its X.509 subject DN (created on first sight): ``lastSeenAt``, the most recent
certificates with ``failed`` and the reason, and the instance properties sent.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from roleport import arns
from roleport.clock import Clock
from roleport.crypto.certificates import Certificate, check_end_entity_certificate, load_pem_bundle
from roleport.crypto.crls import Crl, load_crl
from roleport.crypto.errors import CryptoError
from roleport.crypto.paths import TrustStore, check_not_revoked, validate_path
from roleport.crypto.spiffe import SpiffeId, check_x509_svid
from roleport.domain import session_tags, trusted_identity
from roleport.domain.context import Scope
from roleport.domain.freshness import DEFAULT_MAX_AGE, ChangeCounter, Kept
from roleport.domain.model import (
    CredentialRecord,
    InstancePropertyRecord,
    Profile,
    Subject,
    TrustAnchor,
)
from roleport.domain.revocation import (
    DistributionPointCache,
    OcspChecker,
    RevocationProblem,
    check_distribution_points,
    ocsp_mode,
)
from roleport.domain.spiffe import (
    SpiffeBundles,
    SpiffeProblem,
    spiffe_trust_domain,
    svid_names,
)
from roleport.domain.subjects import subject_key
from roleport.errors import AccessDeniedError, AuthenticationError, RoleportError
from roleport.ids import new_uuid
from roleport.storage.base import ConflictingWrite, StorageError, UnitOfWorkFactory
from roleport.sts.issuer import AssumeRoleRequest, CredentialIssuer, IssuedCredentials

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

TRUST_ANCHOR_NOT_FOUND = "Specified Trust Anchor wasn't found."
INVALID_PROFILE = "Invalid or empty profile provided."
INVALID_SIGNATURE = "Invalid signature"
UNTRUSTED_CERTIFICATE = "Untrusted signing certificate"
REVOCATION_UNCHECKED = f"{UNTRUSTED_CERTIFICATE}: the revocation status could not be checked."
ROLE_NOT_IN_PROFILE = "Requested Role isn't one of those listed in the Profile."
ROLE_SESSION_NAME_REFUSED = "Not authorized to set roleSessionName"
PRINCIPAL_SERVICE = "rolesanywhere.amazonaws.com"
#: how many recent certificates and instance-property sets a subject keeps
SUBJECT_HISTORY = 10
#: a success by the same certificate (same instance properties) within this window of the
#: one recorded is not written again: the record would differ only in its timestamps
SUBJECT_WRITE_INTERVAL = timedelta(seconds=1)


class PresentedCredential(Protocol):
    """What the request presents: its signature scope, certificates, and a way to verify.

    Implemented by :class:`roleport.auth.x509.X509Request`.
    """

    @property
    def region(self) -> str: ...

    certificate: Certificate | None
    chain: list[Certificate]

    def verify(self, *, now: datetime, max_skew: timedelta) -> set[str]:
        """Leniencies used; raises AuthenticationError (kind ``expired-signature`` for skew)."""


@dataclass(frozen=True)
class SessionRequest:
    credential: PresentedCredential
    trust_anchor_arn: str
    profile_arn: str
    role_arn: str
    duration_seconds: int | None = None
    role_session_name: str | None = None
    instance_properties: dict[str, str] | None = None


@dataclass(frozen=True)
class SessionSettings:
    #: accept what real clients deviate in (RSA-PSS, algorithm labels, unordered chains...)
    lenient: bool = True
    max_skew: timedelta = timedelta(minutes=5)
    #: ``fail`` (AWS observed) or ``drop`` (AWS documented) invalid session-tag values
    invalid_tag_values: str = session_tags.FAIL
    max_chain: int = 5


@dataclass(frozen=True)
class SessionResult:
    credentials: IssuedCredentials
    role_arn: str
    subject_arn: str


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


def source_identity_for(certificate: Certificate) -> str:
    """AWS's source identity rules (§2.7): ``CN=<cn>`` up to 61 characters, the bare CN
    for 62-64, ``ID=<hex serial>`` without a CN."""
    cn = certificate.common_name
    if cn:
        return f"CN={cn}" if len(cn) <= 61 else cn
    return f"ID={certificate.serial_hex}"


class _Refused(AccessDeniedError):
    """An AccessDenied answer whose audit check and reason are already recorded."""


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
            scope, anchor, profile, crls = self._load(request, audit)
            result = self._authorize(request, audit, now, scope, anchor, profile, crls)
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
        audit.outcome = "issued"
        subject = self._record_attempt(scope, request, audit, now, failed=False)
        assert subject is not None  # a request without a certificate fails its signature
        return SessionResult(result, request.role_arn, subject.arn)

    # -- steps --------------------------------------------------------------------------

    def _refuse(self, audit: SessionAudit, check: str, reason: str, message: str) -> _Refused:
        audit.check, audit.reason = check, reason
        return _Refused(message)

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

    def _load(self, request: SessionRequest, audit: SessionAudit,
              ) -> tuple[Scope, TrustAnchor, Profile, list[tuple[str, Crl]]]:
        """Trust anchor, profile and the anchor's enabled CRLs, in one read."""
        region = request.credential.region
        ref = arns.parse_roles_anywhere(request.trust_anchor_arn)
        if ref is None or ref.resource_type != "trust-anchor" or ref.region != region:
            raise self._refuse(audit, "trust-anchor",
                               f"'{request.trust_anchor_arn}' is not a trust anchor ARN of "
                               f"the signature's region {region}", TRUST_ANCHOR_NOT_FOUND)
        scope = Scope(ref.account, region)
        anchor, profile, crls = self._read_resources(scope, ref, request.profile_arn)
        if anchor is None:
            raise self._refuse(audit, "trust-anchor", "no such trust anchor in account "
                               f"{scope.account_id}, region {region}",
                               TRUST_ANCHOR_NOT_FOUND)
        audit.account_id = scope.account_id
        if not anchor.enabled:
            raise self._refuse(audit, "trust-anchor", f"trust anchor {anchor.id} is disabled",
                               TRUST_ANCHOR_NOT_FOUND)
        if profile is None:
            raise self._refuse(audit, "profile", "no such profile in the trust anchor's "
                               f"account {scope.account_id} and region {region}",
                               INVALID_PROFILE)
        if not profile.enabled:
            raise self._refuse(audit, "profile", f"profile {profile.id} is disabled",
                               INVALID_PROFILE)
        parsed = []
        for key, data in crls:
            try:
                parsed.append((key, self._crls.get(key, partial(load_crl, data))))
            except CryptoError:  # checked at import; a CRL that no longer parses is skipped
                continue
        return scope, anchor, profile, parsed

    def _authorize(self, request: SessionRequest, audit: SessionAudit, now: datetime,
                   scope: Scope, anchor: TrustAnchor, profile: Profile,
                   crls: list[tuple[str, Crl]]) -> IssuedCredentials:
        credential = request.credential
        self._check_signature(credential, audit, now)
        certificate = credential.certificate
        assert certificate is not None  # verify() refuses a request without one
        path, spiffe_id = self._check_certificate(certificate, credential.chain, scope,
                                                  anchor, audit, now)
        self._check_revocation(path, [crl for _, crl in crls], anchor, audit, now)

        if request.role_arn not in profile.role_arns:
            raise self._refuse(audit, "role", f"role {request.role_arn} is not in profile "
                               f"{profile.id}", ROLE_NOT_IN_PROFILE)
        session_name = certificate.serial_hex
        source_identity = source_identity_for(certificate)
        if spiffe_id is not None:
            session_name, source_identity = svid_names(spiffe_id, certificate)
        if request.role_session_name is not None:
            if not profile.accept_role_session_name:
                raise self._refuse(audit, "role-session-name",
                                   f"profile {profile.id} does not accept roleSessionName",
                                   ROLE_SESSION_NAME_REFUSED)
            session_name = request.role_session_name
        duration = profile.duration_seconds
        if request.duration_seconds is not None:
            duration = min(duration, request.duration_seconds)
        audit.role_session_name, audit.source_identity = session_name, source_identity
        audit.duration_seconds = duration
        try:
            origin = trusted_identity.origin_identity(certificate, profile.tip_configuration)
        except trusted_identity.MissingSubject as exc:
            raise self._refuse(audit, "trusted-identity", exc.reason,
                               f"Unable to assume role for {request.role_arn}. The "
                               f"certificate has no {exc.subject_source} value for the "
                               f"profile's trusted identity propagation.") from None
        audit.origin_subject = origin.subject if origin else None

        tags = self._session_tags(certificate, profile, request.role_arn, audit)
        context: dict[str, str | list[str]] = {
            "aws:SourceArn": anchor.arn,
            "aws:SourceAccount": anchor.account_id,
            "sts:SourceIdentity": source_identity,
        }
        for key, value in tags:
            context[f"aws:PrincipalTag/{key}"] = value
            context[f"aws:RequestTag/{key}"] = value
        if tags:
            context["aws:TagKeys"] = [key for key, _ in tags]
        assume = AssumeRoleRequest(
            account_id=scope.account_id, role_arn=request.role_arn,
            role_session_name=session_name, duration_seconds=duration,
            source_identity=source_identity, session_tags=tags,
            session_policy=profile.session_policy,
            policy_arns=list(profile.managed_policy_arns),
            principal_service=PRINCIPAL_SERVICE, context=context, origin_identity=origin)
        try:
            return self.issuer.assume_role(assume)
        except RoleportError as exc:
            audit.check, audit.reason = "assume-role", exc.message
            raise

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

    def _check_signature(self, credential: PresentedCredential, audit: SessionAudit,
                         now: datetime) -> None:
        try:
            audit.leniencies |= credential.verify(now=now, max_skew=self.settings.max_skew)
            audit.signature_verified = True
        except AuthenticationError as exc:
            if exc.kind == "expired-signature":
                raise self._refuse(
                    audit, "clock-skew", exc.message,
                    f"{INVALID_SIGNATURE}: the request time is more than "
                    f"{int(self.settings.max_skew.total_seconds() // 60)} minutes away from "
                    f"the server's ({exc.message}). Check the clock of the signing host."
                ) from None
            raise self._refuse(audit, "signature", exc.message, INVALID_SIGNATURE) from None

    def _check_certificate(self, certificate: Certificate, chain: list[Certificate],
                           scope: Scope, anchor: TrustAnchor, audit: SessionAudit,
                           now: datetime) -> tuple[list[Certificate], SpiffeId | None]:
        trust_domain = spiffe_trust_domain(anchor.tags)
        spiffe_id = None
        try:
            check_end_entity_certificate(certificate, now,
                                         allow_empty_subject=trust_domain is not None)
            if trust_domain is not None:
                spiffe_id = check_x509_svid(certificate, trust_domain)
                audit.spiffe_id = str(spiffe_id)
        except CryptoError as exc:
            raise self._refuse(audit, "certificate", exc.full,
                               UNTRUSTED_CERTIFICATE) from None
        intermediates = self._tidy_chain(certificate, chain, audit)
        if trust_domain is not None:
            return self._spiffe_path(certificate, intermediates, trust_domain, scope, anchor,
                                     audit, now), spiffe_id
        store = self._trust_store(anchor)
        try:
            return validate_path(certificate, intermediates, store, now,
                                 max_chain=self.settings.max_chain), None
        except CryptoError as exc:
            raise self._refuse(audit, "certificate", exc.full,
                               UNTRUSTED_CERTIFICATE) from None

    def _spiffe_path(self, certificate: Certificate, intermediates: list[Certificate],
                     trust_domain: str, scope: Scope, anchor: TrustAnchor,
                     audit: SessionAudit, now: datetime) -> list[Certificate]:
        """The path to the SPIFFE bundle's authorities (the bundle fetched again once on
        demand when the certificate does not chain to the one held: a rotation)."""
        if self.spiffe is None:
            raise self._refuse(audit, "certificate", "the trust anchor follows a SPIFFE "
                               "bundle but this server has none configured",
                               UNTRUSTED_CERTIFICATE)
        version = None
        for on_demand in (False, True):
            try:
                bundle, current = self.spiffe.current(trust_domain, now, on_demand=on_demand)
            except SpiffeProblem as exc:
                raise self._refuse(audit, "certificate", exc.message,
                                   UNTRUSTED_CERTIFICATE) from None
            if current == version:
                break  # nothing new came on demand
            version = current
            self._follow_bundle(scope, anchor, bundle.pem, now)
            store = self._trust_stores.get(("spiffe", trust_domain, current),
                                           lambda: TrustStore(bundle.authorities))
            try:
                return validate_path(certificate, intermediates, store, now,
                                     max_chain=self.settings.max_chain)
            except CryptoError as exc:
                problem = exc.full
        raise self._refuse(audit, "certificate", problem, UNTRUSTED_CERTIFICATE)

    def _follow_bundle(self, scope: Scope, anchor: TrustAnchor, pem: str,
                       now: datetime) -> None:
        """Rewrite the anchor's x509CertificateData to the bundle's authorities, so what
        GetTrustAnchor shows is what CreateSession trusts."""
        if anchor.source_data.get("x509CertificateData") == pem:
            return
        with self.store(write=True) as uow:
            stored = uow.trust_anchors.get(scope, anchor.id, for_update=True)
            if stored is None or stored.source_data.get("x509CertificateData") == pem:
                return
            stored.source_data = {"x509CertificateData": pem}
            stored.updated_at = now
            uow.trust_anchors.update(stored)
        self.changes.bump()

    def _tidy_chain(self, leaf: Certificate, chain: list[Certificate],
                    audit: SessionAudit) -> list[Certificate]:
        """The intermediates to build a path from; AWS's limit of 5, and strict mode's
        "in issuer order, nothing extra"."""
        limit = self.settings.max_chain
        kept = [c for c in dict.fromkeys(chain) if c != leaf and not c.is_self_issued]
        irregular = (len(set(chain)) != len(chain) or leaf in chain
                     or any(c.is_self_issued for c in chain[:-1]))
        ordered = all(child.issuer_dn == parent.subject_dn
                      for child, parent in zip([leaf, *chain], chain, strict=False))
        if not self.settings.lenient:
            if len(chain) > limit:
                raise self._refuse(audit, "certificate", f"X-Amz-X509-Chain holds "
                                   f"{len(chain)} certificates; at most {limit} are allowed",
                                   UNTRUSTED_CERTIFICATE)
            if irregular or not ordered:
                raise self._refuse(audit, "certificate", "strict signing wants X-Amz-X509-Chain "
                                   "in issuer order, without duplicates or the leaf",
                                   UNTRUSTED_CERTIFICATE)
            return kept
        if len(kept) > limit:
            raise self._refuse(audit, "certificate", f"X-Amz-X509-Chain holds {len(kept)} "
                               f"intermediate certificates; at most {limit} are allowed",
                               UNTRUSTED_CERTIFICATE)
        if irregular:
            audit.leniencies.add("chain-extras")
        elif not ordered:
            audit.leniencies.add("chain-order")
        return kept

    def _trust_store(self, anchor: TrustAnchor) -> TrustStore:
        key = (anchor.id, anchor.updated_at)
        return self._trust_stores.get(key, lambda: TrustStore(
            load_pem_bundle(anchor.certificate_bundle or "")))

    def _check_revocation(self, path: list[Certificate], crls: list[Crl], anchor: TrustAnchor,
                          audit: SessionAudit, now: datetime) -> None:
        try:
            check_not_revoked(path, crls)
        except CryptoError as exc:
            raise self._refuse(audit, "revocation", exc.full,
                               UNTRUSTED_CERTIFICATE) from None
        mode = ocsp_mode(anchor.tags)
        if anchor.crl_dp_revocation_enabled and self.distribution_points is None:
            raise self._refuse(audit, "revocation", "CRL distribution point checks are "
                               "enabled on the trust anchor but not configured on this server",
                               UNTRUSTED_CERTIFICATE)
        if mode is not None and self.ocsp is None:
            raise self._refuse(audit, "revocation", "OCSP checks are enabled on the trust "
                               "anchor but not configured on this server",
                               UNTRUSTED_CERTIFICATE)
        try:
            if anchor.crl_dp_revocation_enabled:
                assert self.distribution_points is not None
                audit.crl_distribution_point = check_distribution_points(
                    path[0], path[1], self.distribution_points, now)
            if mode is not None:
                assert self.ocsp is not None
                audit.ocsp = self.ocsp.check(path, mode, now)
        except RevocationProblem as exc:
            # which distribution point or responder failed and how (refused, HTTP 404, not
            # a CRL, a bad signature) is the server's network talking: the audit trail and
            # the subject record get it, the caller only the outcome
            message = UNTRUSTED_CERTIFICATE if exc.revoked else REVOCATION_UNCHECKED
            raise self._refuse(audit, "revocation", exc.message, message) from None

    def _session_tags(self, certificate: Certificate, profile: Profile, role_arn: str,
                      audit: SessionAudit) -> list[tuple[str, str]]:
        mapped = session_tags.map_certificate(certificate, profile.attribute_mappings)
        if mapped.has_invalid:
            summary = mapped.invalid_summary()
            if self.settings.invalid_tag_values == session_tags.FAIL:
                raise self._refuse(
                    audit, "session-tags", f"attribute values that are not valid session "
                    f"tags: {summary}", f"Unable to assume role for {role_arn}. Some "
                    f"attributes failed to be mapped into session tags. {summary}")
            audit.dropped_tags = [f"{f}/{n}" for f, names in mapped.invalid.items()
                                  for n in names]
        return mapped.tags[:session_tags.MAX_TAGS]

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
                with self.store(write=True) as uow:
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
