"""The CreateSession checks, one at a time, in AWS's order (aws-behaviour §2.4).

Both the server (:class:`~roleport.domain.sessions.SessionService`, which stops at the
first failure and answers with it) and ``roleport explain`` (which runs every check it
can, to say everything that is wrong at once) run the checks through
:func:`roleport.domain.session_run.run_checks`, so the two can never disagree on what is
checked, in which order, or why it fails. This module holds the checks themselves.

======================  ==========================================================
check                   refused with
======================  ==========================================================
``trust-anchor``        Specified Trust Anchor wasn't found.   (unknown or disabled)
``profile``             Invalid or empty profile provided.     (unknown or disabled)
``signature``           Invalid signature                      (``clock-skew``: says so)
``certificate``         Untrusted signing certificate          (leaf rules, SVID rules,
                                                                chain, path)
``revocation``          Untrusted signing certificate          (imported CRL, CRL DP, OCSP)
``role``                Requested Role isn't one of those listed in the Profile.
``role-session-name``   Not authorized to set roleSessionName
``trusted-identity``    Unable to assume role for ARN. The certificate has no ...
``session-tags``        Unable to assume role for ARN. Some attributes failed ...
``assume-role``         Unable to assume role for ARN...       (the issuer: trust policy,
                                                                duration, session name)
======================  ==========================================================

Each check passes, fails with a :class:`Refused` (its check name, the precise reason for
operators, and AWS's terse message for the caller), or is skipped when what it needs is
missing (no certificate path to check for revocation, no private key to sign with).

Two checks follow trust-anchor tags (Roleport extensions, docs/trust-sources.md): a trust
anchor tagged ``roleport:spiffeTrustDomain`` wants an X.509-SVID and a path to its SPIFFE
bundle (:class:`~roleport.domain.spiffe.BundlePaths`), one tagged ``roleport:ocsp`` an
OCSP answer for every certificate of the path (:class:`~roleport.domain.revocation.OcspChecker`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol, TypeVar

from roleport import arns
from roleport.crypto.certificates import Certificate, check_end_entity_certificate, load_pem_bundle
from roleport.crypto.crls import Crl
from roleport.crypto.errors import CryptoError
from roleport.crypto.paths import TrustStore, check_not_revoked, validate_path
from roleport.crypto.spiffe import SpiffeId, check_x509_svid
from roleport.domain import session_tags, trusted_identity
from roleport.domain.model import Profile, TrustAnchor
from roleport.domain.revocation import (
    DistributionPointCache,
    OcspChecker,
    RevocationProblem,
    check_distribution_points,
    ocsp_mode,
)
from roleport.domain.session_audit import SessionAudit
from roleport.domain.spiffe import BundlePaths, SpiffeProblem, spiffe_trust_domain
from roleport.errors import AccessDeniedError, AuthenticationError

__all__ = [
    "CHECKS",
    "INVALID_SIGNATURE",
    "CheckResult",
    "PresentedCredential",
    "Refused",
    "Skipped",
    "SessionAudit",
    "SessionChecks",
    "SessionRequest",
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
#: every check, in the order they run (``clock-skew`` is how ``signature`` fails on time)
CHECKS = ("trust-anchor", "profile", "signature", "certificate", "revocation", "role",
          "role-session-name", "trusted-identity", "session-tags", "assume-role")
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
T = TypeVar("T")
#: what a trust anchor following a SPIFFE bundle is told of the bundle's authorities (PEM)
FollowBundle = Callable[[TrustAnchor, str, datetime], None]


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
class CheckResult:
    """One check's outcome: ``passed``, ``failed`` (reason and AWS's message) or
    ``skipped`` (reason: what it needed)."""

    check: str
    status: str
    reason: str | None = None
    message: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == FAILED


class Refused(AccessDeniedError):
    """A check refused the request: ``check``, the precise ``reason``, AWS's message."""

    def __init__(self, check: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.check, self.reason = check, reason


class Skipped(Exception):  # noqa: N818 - control flow: a check that cannot run
    """Raised by a check (or the ``assume`` callable) that lacks what it needs; its
    message says what."""


def source_identity_for(certificate: Certificate) -> str:
    """AWS's source identity rules (§2.7): ``CN=<cn>`` up to 61 characters, the bare CN
    for 62-64, ``ID=<hex serial>`` without a CN."""
    cn = certificate.common_name
    if cn:
        return f"CN={cn}" if len(cn) <= 61 else cn
    return f"ID={certificate.serial_hex}"


class SessionChecks:
    """The checks themselves; each raises :class:`Refused` or returns what it found.

    ``explain``: run for ``roleport explain``, away from the server. An OCSP responder
    that cannot be read from here skips the revocation check (the server asks it from its
    own network), and without SPIFFE bundles (``spiffe``) an anchor following one is
    checked against the authorities it holds (the server keeps them equal to the bundle).
    """

    def __init__(self, settings: SessionSettings,
                 distribution_points: DistributionPointCache | None = None,
                 trust_store: Callable[[TrustAnchor], TrustStore] | None = None, *,
                 ocsp: OcspChecker | None = None, spiffe: BundlePaths | None = None,
                 follow_bundle: FollowBundle | None = None, explain: bool = False) -> None:
        self.settings = settings
        self.distribution_points = distribution_points
        self.trust_store = trust_store or (lambda anchor: TrustStore(
            load_pem_bundle(anchor.certificate_bundle or "")))
        self.ocsp = ocsp
        self.spiffe = spiffe
        self.follow_bundle = follow_bundle
        self.explain = explain

    def trust_anchor(self, request: SessionRequest, anchor: TrustAnchor | None) -> None:
        region = request.credential.region
        ref = arns.parse_roles_anywhere(request.trust_anchor_arn)
        if ref is None or ref.resource_type != "trust-anchor" or ref.region != region:
            raise Refused("trust-anchor", f"'{request.trust_anchor_arn}' is not a trust "
                          f"anchor ARN of the signature's region {region}",
                          TRUST_ANCHOR_NOT_FOUND)
        if anchor is None:
            raise Refused("trust-anchor", f"no such trust anchor in account {ref.account}, "
                          f"region {region}", TRUST_ANCHOR_NOT_FOUND)
        if not anchor.enabled:
            raise Refused("trust-anchor", f"trust anchor {anchor.id} is disabled",
                          TRUST_ANCHOR_NOT_FOUND)

    def profile(self, request: SessionRequest, anchor: TrustAnchor | None,
                profile: Profile | None) -> None:
        region = request.credential.region
        account = anchor.account_id if anchor is not None else "?"
        if profile is None or (anchor is not None and (
                profile.account_id, profile.region) != (anchor.account_id, region)):
            raise Refused("profile", f"no such profile in the trust anchor's account "
                          f"{account} and region {region}", INVALID_PROFILE)
        if not profile.enabled:
            raise Refused("profile", f"profile {profile.id} is disabled", INVALID_PROFILE)

    def signature(self, credential: PresentedCredential, now: datetime) -> set[str]:
        """The leniencies the signature used."""
        try:
            return credential.verify(now=now, max_skew=self.settings.max_skew)
        except AuthenticationError as exc:
            if exc.kind == "expired-signature":
                raise Refused(
                    "clock-skew", exc.message,
                    f"{INVALID_SIGNATURE}: the request time is more than "
                    f"{int(self.settings.max_skew.total_seconds() // 60)} minutes away from "
                    f"the server's ({exc.message}). Check the clock of the signing host."
                ) from None
            raise Refused("signature", exc.message, INVALID_SIGNATURE) from None

    def certificate(self, certificate: Certificate, chain: list[Certificate],
                    anchor: TrustAnchor, now: datetime, audit: SessionAudit,
                    ) -> tuple[list[Certificate], SpiffeId | None]:
        """The validated path ``[leaf, intermediates..., anchor CA]``, and the SPIFFE ID
        of an X.509-SVID (anchors following a SPIFFE bundle; ``audit.spiffe_id`` is set as
        soon as it is known, so a refused SVID without a subject DN is still recorded)."""
        trust_domain = spiffe_trust_domain(anchor.tags)
        spiffe_id = None
        try:
            check_end_entity_certificate(certificate, now,
                                         allow_empty_subject=trust_domain is not None)
            if trust_domain is not None:
                spiffe_id = check_x509_svid(certificate, trust_domain)
                audit.spiffe_id = str(spiffe_id)
        except CryptoError as exc:
            raise Refused("certificate", exc.full, UNTRUSTED_CERTIFICATE) from None
        intermediates = self._tidy_chain(certificate, chain, audit.leniencies)
        if trust_domain is not None and not (self.explain and self.spiffe is None):
            return self._spiffe_path(certificate, intermediates, trust_domain, anchor,
                                     now), spiffe_id
        try:
            return validate_path(certificate, intermediates, self.trust_store(anchor), now,
                                 max_chain=self.settings.max_chain), spiffe_id
        except CryptoError as exc:
            raise Refused("certificate", exc.full, UNTRUSTED_CERTIFICATE) from None

    def _spiffe_path(self, certificate: Certificate, intermediates: list[Certificate],
                     trust_domain: str, anchor: TrustAnchor,
                     now: datetime) -> list[Certificate]:
        """The path to the authorities of the SPIFFE bundle the anchor follows (the
        anchor told of every bundle tried: ``follow_bundle``)."""
        if self.spiffe is None:
            raise Refused("certificate", "the trust anchor follows a SPIFFE bundle but this "
                          "server has none configured", UNTRUSTED_CERTIFICATE)
        follow = partial(self.follow_bundle, anchor) if self.follow_bundle else None
        try:
            return self.spiffe.path(certificate, intermediates, trust_domain, now,
                                    max_chain=self.settings.max_chain, follow=follow)
        except SpiffeProblem as exc:
            raise Refused("certificate", exc.message, UNTRUSTED_CERTIFICATE) from None

    def _tidy_chain(self, leaf: Certificate, chain: list[Certificate],
                    leniencies: set[str]) -> list[Certificate]:
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
                raise Refused("certificate", f"X-Amz-X509-Chain holds {len(chain)} "
                              f"certificates; at most {limit} are allowed",
                              UNTRUSTED_CERTIFICATE)
            if irregular or not ordered:
                raise Refused("certificate", "strict signing wants X-Amz-X509-Chain in "
                              "issuer order, without duplicates or the leaf",
                              UNTRUSTED_CERTIFICATE)
            return kept
        if len(kept) > limit:
            raise Refused("certificate", f"X-Amz-X509-Chain holds {len(kept)} intermediate "
                          f"certificates; at most {limit} are allowed", UNTRUSTED_CERTIFICATE)
        if irregular:
            leniencies.add("chain-extras")
        elif not ordered:
            leniencies.add("chain-order")
        return kept

    def revocation(self, path: list[Certificate], crls: list[Crl], anchor: TrustAnchor,
                   now: datetime) -> tuple[str | None, list[str]]:
        """The CRL distribution point that vouched for the leaf (if one was checked), and
        what OCSP established (one line per certificate that names a responder)."""
        try:
            check_not_revoked(path, crls)
        except CryptoError as exc:
            raise Refused("revocation", exc.full, UNTRUSTED_CERTIFICATE) from None
        mode = ocsp_mode(anchor.tags)
        if anchor.crl_dp_revocation_enabled and self.distribution_points is None:
            raise Refused("revocation", "CRL distribution point checks are enabled on the "
                          "trust anchor but not configured here", UNTRUSTED_CERTIFICATE)
        if mode is not None and self.ocsp is None:
            raise Refused("revocation", "OCSP checks are enabled on the trust anchor but not "
                          "configured here", UNTRUSTED_CERTIFICATE)
        point, notes = None, []
        try:
            if anchor.crl_dp_revocation_enabled:
                assert self.distribution_points is not None
                point = check_distribution_points(path[0], path[1], self.distribution_points,
                                                  now)
            if mode is not None:
                assert self.ocsp is not None
                notes = self.ocsp.check(path, mode, now, skip_unreachable=self.explain)
        except RevocationProblem as exc:
            if exc.unreachable and self.explain:
                raise Skipped(f"OCSP not checked: no responder could be reached from here "
                              f"({exc.message}); the server asks them from its network, "
                              f"see its audit line") from None
            # which distribution point or responder failed and how (refused, HTTP 404, not
            # a CRL, a bad signature) is the server's network talking: the audit trail and
            # the subject record get it, the caller only the outcome
            message = UNTRUSTED_CERTIFICATE if exc.revoked else REVOCATION_UNCHECKED
            raise Refused("revocation", exc.message, message) from None
        return point, notes

    def role(self, profile: Profile, role_arn: str) -> None:
        if role_arn not in profile.role_arns:
            raise Refused("role", f"role {role_arn} is not in profile {profile.id} (its "
                          f"roles: {', '.join(profile.role_arns) or 'none'})",
                          ROLE_NOT_IN_PROFILE)

    def role_session_name(self, profile: Profile, requested: str | None) -> None:
        if requested is not None and not profile.accept_role_session_name:
            raise Refused("role-session-name", f"profile {profile.id} does not accept "
                          "roleSessionName", ROLE_SESSION_NAME_REFUSED)

    def trusted_identity(self, certificate: Certificate, profile: Profile, role_arn: str,
                         ) -> trusted_identity.OriginIdentity | None:
        try:
            return trusted_identity.origin_identity(certificate, profile.tip_configuration)
        except trusted_identity.MissingSubject as exc:
            raise Refused("trusted-identity", exc.reason,
                          f"Unable to assume role for {role_arn}. The certificate has no "
                          f"{exc.subject_source} value for the profile's trusted identity "
                          f"propagation.") from None

    def session_tags(self, certificate: Certificate, profile: Profile, role_arn: str,
                     dropped: list[str]) -> list[tuple[str, str]]:
        mapped = session_tags.map_certificate(certificate, profile.attribute_mappings)
        if mapped.has_invalid:
            summary = mapped.invalid_summary()
            if self.settings.invalid_tag_values == session_tags.FAIL:
                raise Refused("session-tags", f"attribute values that are not valid session "
                              f"tags: {summary}", f"Unable to assume role for {role_arn}. "
                              f"Some attributes failed to be mapped into session tags. "
                              f"{summary}")
            dropped[:] = [f"{f}/{n}" for f, names in mapped.invalid.items() for n in names]
        return mapped.tags[:session_tags.MAX_TAGS]

    def session_tags_kept(self, certificate: Certificate, profile: Profile,
                          ) -> list[tuple[str, str]]:
        """The valid tags only (what the trust policy sees when tags already failed)."""
        return session_tags.map_certificate(certificate, profile.attribute_mappings) \
            .tags[:session_tags.MAX_TAGS]
