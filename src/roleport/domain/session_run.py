"""The CreateSession checks run in AWS's order: :func:`run_checks`, shared by the server
and ``roleport explain`` (the checks themselves: :mod:`roleport.domain.session_checks`),
and :func:`assume_request`, the AssumeRole a CreateSession that passed them makes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from roleport.crypto.certificates import Certificate
from roleport.crypto.crls import Crl
from roleport.crypto.spiffe import SpiffeId
from roleport.domain import trusted_identity
from roleport.domain.model import Profile, TrustAnchor
from roleport.domain.session_audit import SessionAudit
from roleport.domain.session_checks import (
    FAILED,
    PASSED,
    PRINCIPAL_SERVICE,
    SKIPPED,
    CheckResult,
    Refused,
    SessionChecks,
    SessionRequest,
    Skipped,
    source_identity_for,
)
from roleport.domain.spiffe import svid_names
from roleport.errors import RoleportError
from roleport.sts.issuer import AssumeRoleRequest

__all__ = ["assume_request", "run_checks"]

T = TypeVar("T")


@dataclass
class _Run:
    """The results so far, and the request being checked."""

    keep_going: bool
    results: list[CheckResult] = field(default_factory=list)

    def step(self, check: str, audit: SessionAudit, action: Callable[[], T],
             ) -> tuple[bool, T | None]:
        """Run one check; (passed, its value). A failure raises unless keep_going."""
        try:
            value = action()
        except Skipped as skip:
            self.results.append(CheckResult(check, SKIPPED, str(skip)))
            return False, None
        except Refused as exc:
            self._failed(audit, exc.check, exc.reason, exc.message)
            if not self.keep_going:
                raise
            return False, None
        except RoleportError as exc:  # the issuer's refusals and failures
            reason = f"{exc.message} ({exc.detail})" if exc.detail else exc.message
            self._failed(audit, check, reason, exc.message)
            if not self.keep_going:
                raise
            return False, None
        self.results.append(CheckResult(check, PASSED))
        return True, value

    def _failed(self, audit: SessionAudit, check: str, reason: str, message: str) -> None:
        self.results.append(CheckResult(check, FAILED, reason, message))
        if audit.check is None:  # the first failure decides the answer
            audit.check, audit.reason = check, reason


def _need(condition: object, why: str) -> None:
    if not condition:
        raise Skipped(why)


def run_checks(checks: SessionChecks, request: SessionRequest, audit: SessionAudit, *,
               anchor: TrustAnchor | None, profile: Profile | None, crls: list[Crl],
               now: datetime, assume: Callable[[AssumeRoleRequest], T],
               keep_going: bool = False, verify_signature: bool = True,
               ) -> tuple[list[CheckResult], T | None]:
    """Run every check in order, filling ``audit``; the results and what ``assume``
    returned (None unless every check passed).

    Without ``keep_going`` the first failure raises (:class:`Refused`, or the issuer's
    error); with it every check that can still run does, and the first failure is the
    one ``audit`` names (the server's answer). ``verify_signature=False`` skips the
    signature (``roleport explain`` without the private key).
    """
    run = _Run(keep_going)
    credential = request.credential
    certificate = credential.certificate
    role_arn = request.role_arn

    if anchor is not None:  # known even when disabled: the attempt goes on its subject
        audit.account_id = anchor.account_id
    run.step("trust-anchor", audit, lambda: checks.trust_anchor(request, anchor))
    run.step("profile", audit, lambda: checks.profile(request, anchor, profile))

    def signature() -> None:
        _need(verify_signature, "no private key given: the request signature was not "
                                "checked")
        audit.leniencies |= checks.signature(credential, now)
        audit.signature_verified = True
    run.step("signature", audit, signature)

    def certificate_path() -> tuple[list[Certificate], SpiffeId | None]:
        _need(certificate is not None, "no signing certificate")
        _need(anchor is not None, "no trust anchor to build a path to")
        assert certificate is not None and anchor is not None
        return checks.certificate(certificate, credential.chain, anchor, now, audit)
    _, found = run.step("certificate", audit, certificate_path)
    path, spiffe_id = found if found is not None else (None, None)

    def revocation() -> None:
        _need(path, "no valid certificate path to check")
        assert path is not None and anchor is not None
        audit.crl_distribution_point, audit.ocsp = checks.revocation(path, crls, anchor, now)
    run.step("revocation", audit, revocation)

    usable = profile is not None and certificate is not None
    no_profile = "no profile" if profile is None else "no signing certificate"

    def role() -> None:
        _need(profile is not None, "no profile")
        assert profile is not None
        checks.role(profile, role_arn)
    run.step("role", audit, role)

    def session_name() -> None:
        _need(profile is not None, "no profile")
        assert profile is not None
        checks.role_session_name(profile, request.role_session_name)
    run.step("role-session-name", audit, session_name)

    def origin() -> trusted_identity.OriginIdentity | None:
        _need(usable, no_profile)
        assert profile is not None and certificate is not None
        return checks.trusted_identity(certificate, profile, role_arn)
    _, origin_identity = run.step("trusted-identity", audit, origin)
    audit.origin_subject = origin_identity.subject if origin_identity else None

    def tags() -> list[tuple[str, str]]:
        _need(usable, no_profile)
        assert profile is not None and certificate is not None
        return checks.session_tags(certificate, profile, role_arn, audit.dropped_tags)
    tags_ok, tag_list = run.step("session-tags", audit, tags)
    if not tags_ok and usable:
        assert profile is not None and certificate is not None
        tag_list = checks.session_tags_kept(certificate, profile)

    def assume_role() -> T:
        _need(usable, no_profile)
        assert profile is not None and certificate is not None and anchor is not None
        ask = assume_request(request, certificate, profile, anchor, tag_list or [],
                             origin_identity, audit, spiffe_id)
        return assume(ask)
    _, issued = run.step("assume-role", audit, assume_role)
    if any(result.failed for result in run.results):
        return run.results, None
    return run.results, issued


def assume_request(request: SessionRequest, certificate: Certificate, profile: Profile,
                   anchor: TrustAnchor, tags: list[tuple[str, str]],
                   origin: trusted_identity.OriginIdentity | None,
                   audit: SessionAudit, spiffe_id: SpiffeId | None = None) -> AssumeRoleRequest:
    """The AssumeRole that CreateSession makes: duration (§2.5), session name (§2.6),
    source identity (§2.7; an X.509-SVID's come from its SPIFFE ID), tags and the context
    keys of the trust policy."""
    session_name, source_identity = certificate.serial_hex, source_identity_for(certificate)
    if spiffe_id is not None:
        session_name, source_identity = svid_names(spiffe_id, certificate)
    if request.role_session_name is not None:
        session_name = request.role_session_name
    duration = profile.duration_seconds
    if request.duration_seconds is not None:
        duration = min(duration, request.duration_seconds)
    audit.role_session_name, audit.source_identity = session_name, source_identity
    audit.duration_seconds = duration
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
    return AssumeRoleRequest(
        account_id=anchor.account_id, role_arn=request.role_arn,
        role_session_name=session_name, duration_seconds=duration,
        source_identity=source_identity, session_tags=tags,
        session_policy=profile.session_policy, policy_arns=list(profile.managed_policy_arns),
        principal_service=PRINCIPAL_SERVICE, context=context, origin_identity=origin)
