"""``roleport explain``: would this certificate get credentials, and if not, why?

It runs the server's own checks (:func:`roleport.domain.session_run.run_checks`, and
:func:`roleport.sts.issuer.check_assume_role` for the role's trust policy) offline, on
resources as the API shows them (``GetTrustAnchor``, ``GetProfile``, ``ListCrls``, IAM
``GetRole`` output: read from a server or from files), so its verdict is the server's.
With the private key it signs a CreateSession request exactly as a client does and checks
that signature too; without, the signature check is skipped. Every check that can still
run after a failure does, and each failure comes with what to change (:func:`hint`).

The trust anchor's tags (``ListTagsForResource``) carry Roleport's extensions: with
``roleport:ocsp`` explain asks the OCSP responders itself (given an
:class:`~roleport.domain.revocation.OcspChecker`) and, when none can be reached from
here, reports the revocation check as skipped, saying so; with
``roleport:spiffeTrustDomain`` it applies the X.509-SVID rules and builds the path to the
SPIFFE bundle given (``BundlePaths``) or, without one, to the authorities the anchor
holds (which the server keeps equal to the bundle). An ``AWS_ACM_PCA`` anchor's CA
certificate is not part of ``GetTrustAnchor``: give it (``ca_snapshot``), or the
certificate check is skipped.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from roleport import arns
from roleport.auth.verifier import SigningRequest
from roleport.auth.x509 import read_x509_request, sign_x509_request
from roleport.crypto.certificates import Certificate, load_pem_bundle
from roleport.crypto.crls import Crl
from roleport.crypto.keys import PrivateKey
from roleport.crypto.paths import TrustStore
from roleport.domain import session_tags
from roleport.domain.model import AttributeMapping, Profile, Tag, TrustAnchor
from roleport.domain.revocation import OCSP_TAG, DistributionPointCache, OcspChecker
from roleport.domain.session_checks import (
    CheckResult,
    SessionAudit,
    SessionChecks,
    SessionRequest,
    SessionSettings,
    Skipped,
)
from roleport.domain.session_run import run_checks
from roleport.domain.spiffe import BundlePaths
from roleport.domain.trusted_identity import configured
from roleport.errors import AuthenticationError
from roleport.sts.issuer import AssumeRoleRequest, check_assume_role
from roleport.sts.trust import RoleFacts

__all__ = ["Explanation", "explain", "profile_from_api", "role_from_api", "tags_from_api",
           "trust_anchor_from_api"]

#: ``roleport explain`` exit codes
EXIT_ALLOWED, EXIT_REFUSED, EXIT_UNREADABLE, EXIT_INCOMPLETE = 0, 1, 3, 4


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return datetime.now(UTC)


def _unwrap(data: dict[str, Any], key: str) -> dict[str, Any]:
    """``{"trustAnchor": {...}}`` (the CLI's output) or the bare object."""
    inner = data.get(key)
    return inner if isinstance(inner, dict) else data


def trust_anchor_from_api(data: dict[str, Any]) -> TrustAnchor:
    """A trust anchor from ``GetTrustAnchor`` output (or its ``trustAnchor`` member)."""
    ta = _unwrap(data, "trustAnchor")
    ref = arns.parse_roles_anywhere(ta["trustAnchorArn"])
    if ref is None or ref.resource_id is None:
        raise ValueError(f"not a trust anchor ARN: {ta['trustAnchorArn']!r}")
    source = ta.get("source") or {}
    return TrustAnchor(
        id=ref.resource_id, account_id=ref.account, region=ref.region,
        name=ta.get("name", ""), source_type=source.get("sourceType", "CERTIFICATE_BUNDLE"),
        source_data=dict(source.get("sourceData") or {}), enabled=bool(ta.get("enabled")),
        crl_dp_revocation_enabled=bool(ta.get("crlDpRevocationEnabled")),
        notification_settings=[], created_at=_time(ta.get("createdAt")),
        updated_at=_time(ta.get("updatedAt")), alias_name=ta.get("aliasName"))


def tags_from_api(data: dict[str, Any]) -> list[Tag]:
    """Tags from ``ListTagsForResource`` output (``{"tags": [{"key":..., "value":...}]}``)."""
    return [Tag(t["key"], t.get("value", "")) for t in data.get("tags") or []]


def profile_from_api(data: dict[str, Any]) -> Profile:
    """A profile from ``GetProfile`` output (or its ``profile`` member)."""
    p = _unwrap(data, "profile")
    ref = arns.parse_roles_anywhere(p["profileArn"])
    if ref is None or ref.resource_id is None:
        raise ValueError(f"not a profile ARN: {p['profileArn']!r}")
    tip = p.get("tipConfiguration")
    return Profile(
        id=ref.resource_id, account_id=ref.account, region=ref.region, name=p.get("name", ""),
        enabled=bool(p.get("enabled")),
        require_instance_properties=bool(p.get("requireInstanceProperties")),
        session_policy=p.get("sessionPolicy"), role_arns=list(p.get("roleArns") or []),
        managed_policy_arns=list(p.get("managedPolicyArns") or []),
        duration_seconds=int(p.get("durationSeconds") or 3600),
        accept_role_session_name=bool(p.get("acceptRoleSessionName")),
        attribute_mappings=[
            AttributeMapping(m["certificateField"],
                             [r["specifier"] for r in m.get("mappingRules") or []])
            for m in p.get("attributeMappings") or []],
        created_by=p.get("createdBy", ""), created_at=_time(p.get("createdAt")),
        updated_at=_time(p.get("updatedAt")), alias_name=p.get("aliasName"),
        tip_configuration=configured(tip["status"], tip.get("subjectType"),
                                     tip.get("subjectSource")) if tip else None)


def role_from_api(data: dict[str, Any]) -> RoleFacts:
    """A role from IAM ``GetRole`` output (or its ``Role`` member)."""
    role = _unwrap(data, "Role")
    policy = role["AssumeRolePolicyDocument"]
    if not isinstance(policy, str):
        policy = json.dumps(policy)
    elif policy.startswith("%7B") or policy.startswith("%7b"):
        from urllib.parse import unquote

        policy = unquote(policy)
    return RoleFacts(arn=role["Arn"], role_id=role.get("RoleId", ""),
                     name=role.get("RoleName", role["Arn"].rsplit("/", 1)[-1]),
                     account_id=role["Arn"].split(":")[4], trust_policy=policy,
                     max_session_duration=int(role.get("MaxSessionDuration") or 3600))


class _Unsigned:
    """The certificates of a request explain cannot sign (no private key)."""

    def __init__(self, certificate: Certificate, chain: list[Certificate], region: str) -> None:
        self.certificate, self.chain, self._region = certificate, chain, region

    @property
    def region(self) -> str:
        return self._region

    def verify(self, *, now: datetime, max_skew: timedelta) -> set[str]:
        raise AuthenticationError("signature", "no private key to sign with")


def _signed(certificate: Certificate, chain: list[Certificate], key: PrivateKey,
            region: str, body: bytes, now: datetime, lenient: bool) -> Any:
    """A CreateSession request signed as the Go helper signs it, read as the server does."""
    base = [("host", f"rolesanywhere.{region}.amazonaws.com"),
            ("content-type", "application/json")]
    request = sign_x509_request(SigningRequest("POST", "/sessions", "", base, body),
                                certificate=certificate, sign=key.sign, region=region,
                                now=now, chain=chain)
    return read_x509_request(request, lenient=lenient)


@dataclass
class Explanation:
    results: list[CheckResult]
    audit: SessionAudit
    certificate: Certificate
    trust_anchor_arn: str
    profile_arn: str
    role_arn: str
    hints: dict[str, str] = field(default_factory=dict)

    @property
    def refused(self) -> CheckResult | None:
        """The check the server refuses with (the first failure), or None."""
        return next((r for r in self.results if r.failed), None)

    @property
    def signature_checked(self) -> bool:
        return all(r.status != "skipped" for r in self.results if r.check == "signature")

    @property
    def complete(self) -> bool:
        """Every check ran (none skipped for want of a key or a role)."""
        return all(r.status != "skipped" for r in self.results)

    @property
    def exit_code(self) -> int:
        if self.refused is not None:
            return EXIT_REFUSED
        return EXIT_ALLOWED if self.complete else EXIT_INCOMPLETE

    def as_json(self) -> dict[str, Any]:
        refused = self.refused
        cert = self.certificate
        return {
            "verdict": "refused" if refused else "allowed",
            "check": refused.check if refused else None,
            "status": 403 if refused else 201,
            "message": refused.message if refused else None,
            "signatureChecked": self.signature_checked, "complete": self.complete,
            "certificate": {"subject": cert.subject_dn, "issuer": cert.issuer_dn,
                            "serialNumber": cert.serial_decimal, "serialHex": cert.serial_hex,
                            "notBefore": cert.not_before.isoformat(),
                            "notAfter": cert.not_after.isoformat()},
            "trustAnchorArn": self.trust_anchor_arn, "profileArn": self.profile_arn,
            "roleArn": self.role_arn,
            "checks": [{"check": r.check, "status": r.status, "reason": r.reason,
                        "message": r.message, "hint": self.hints.get(r.check)}
                       for r in self.results],
            "leniencies": sorted(self.audit.leniencies),
        }


def explain(certificate: Certificate, chain: Sequence[Certificate], key: PrivateKey | None, *,
            anchor: TrustAnchor | None, trust_anchor_arn: str, profile: Profile | None,
            profile_arn: str, role: RoleFacts | None, role_arn: str, crls: Sequence[Crl],
            now: datetime | None = None, settings: SessionSettings | None = None,
            distribution_points: DistributionPointCache | None = None,
            role_session_name: str | None = None, duration_seconds: int | None = None,
            role_known: bool = True, ocsp: OcspChecker | None = None,
            spiffe: BundlePaths | None = None) -> Explanation:
    """Run every CreateSession check on these inputs, as the server would at ``now``.

    ``role`` None with ``role_known``: there is no such role (refused, as the server
    does); without ``role_known``: nobody said (the trust policy check is skipped).
    ``ocsp`` asks the responders of anchors tagged ``roleport:ocsp`` (without it those
    refuse, as a server without OCSP would); ``spiffe`` holds the SPIFFE bundles."""
    settings = settings or SessionSettings()
    now = now or datetime.now(UTC)
    ref = arns.parse_roles_anywhere(trust_anchor_arn)
    region = anchor.region if anchor is not None else ref.region if ref else "us-east-1"
    body: dict[str, Any] = {"trustAnchorArn": trust_anchor_arn, "profileArn": profile_arn,
                            "roleArn": role_arn}
    if duration_seconds is not None:
        body["durationSeconds"] = duration_seconds
    if role_session_name is not None:
        body["roleSessionName"] = role_session_name
    credential = _signed(certificate, list(chain), key, region, json.dumps(body).encode(), now,
                         settings.lenient) if key is not None else \
        _Unsigned(certificate, list(chain), region)
    request = SessionRequest(credential=credential, trust_anchor_arn=trust_anchor_arn,
                             profile_arn=profile_arn, role_arn=role_arn,
                             duration_seconds=duration_seconds,
                             role_session_name=role_session_name)
    audit = SessionAudit()
    results, _ = run_checks(
        SessionChecks(settings, distribution_points, _trust_store, ocsp=ocsp, spiffe=spiffe,
                      explain=True), request, audit, anchor=anchor,
        profile=profile, crls=list(crls), now=now, keep_going=True,
        verify_signature=key is not None,
        assume=lambda ask: _assume(role, role_known, ask, now))
    done = Explanation(results, audit, certificate, trust_anchor_arn, profile_arn, role_arn)
    for result in results:
        text = hint(result, certificate=certificate, anchor=anchor, profile=profile,
                    role_arn=role_arn) if result.failed else None
        if text:
            done.hints[result.check] = text
    return done


def _trust_store(anchor: TrustAnchor) -> TrustStore:
    if anchor.certificate_bundle is None and anchor.source_type == "AWS_ACM_PCA":
        raise Skipped("the trust anchor's source is AWS_ACM_PCA: its CA certificate (the "
                      "server's snapshot) is not in GetTrustAnchor output; give it with "
                      "--ca-certificate")
    return TrustStore(load_pem_bundle(anchor.certificate_bundle or ""))


def _assume(role: RoleFacts | None, role_known: bool, ask: AssumeRoleRequest,
            now: datetime) -> int:
    if role is None and not role_known:
        raise Skipped("no role given (--role-file): the role's trust policy was not checked")
    return check_assume_role(role if role and role.arn == ask.role_arn else None, ask, now)


def _closest(name: str, candidates: list[str]) -> str:
    found = difflib.get_close_matches(name, candidates, n=1, cutoff=0.0)
    return found[0] if found else "(none)"


def hint(result: CheckResult, *, certificate: Certificate, anchor: TrustAnchor | None,
         profile: Profile | None, role_arn: str) -> str | None:
    """What to change so that ``result`` passes (None when the reason says it all)."""
    reason = result.reason or ""
    check = result.check
    if check == "trust-anchor":
        if anchor is not None and "disabled" in reason:
            return (f"enable it: aws rolesanywhere enable-trust-anchor --trust-anchor-id "
                    f"{anchor.id}")
        return ("name a trust anchor that exists in the account and region of the request "
                "(the signature's region is the trust anchor ARN's)")
    if check == "profile":
        if profile is not None and "disabled" in reason:
            return f"enable it: aws rolesanywhere enable-profile --profile-id {profile.id}"
        return "name a profile of the trust anchor's account and region"
    if check in ("signature", "clock-skew"):
        if check == "clock-skew":
            return "set the signing host's clock right (NTP): AWS allows 5 minutes"
        return ("sign with the private key of this certificate (the key file does not match "
                "the certificate, or the request was altered after signing)")
    if check == "certificate":
        return _certificate_hint(reason, certificate, anchor)
    if check == "revocation":
        if "revoked" in reason:
            return "the certificate (or one above it) is revoked: issue a new certificate"
        if "OCSP" in reason or OCSP_TAG in reason:
            return (f"make the OCSP responder named in the certificate reachable from the "
                    f"server and answering for it (signed by the issuer or a delegated "
                    f"responder, echoing the nonce), or set the trust anchor's {OCSP_TAG} tag "
                    f"to soft-fail or disabled")
        return ("make the certificate's CRL distribution point reachable from the server "
                "and its CRL current, or turn crlDpRevocationEnabled off")
    if check == "role" and profile is not None:
        return (f"request one of the profile's roles ({', '.join(profile.role_arns) or 'none'})"
                f", or add it: aws rolesanywhere update-profile --profile-id {profile.id} "
                f"--role-arns ... {role_arn}")
    if check == "role-session-name" and profile is not None:
        return (f"do not send roleSessionName, or allow it: aws rolesanywhere update-profile "
                f"--profile-id {profile.id} --accept-role-session-name")
    if check == "session-tags":
        return ("re-issue the certificate with values STS accepts as tags (letters, digits, "
                "spaces and _.:/=+-@), or map fewer attributes (put-attribute-mapping)")
    if check == "assume-role":
        return _assume_hint(reason, certificate, profile)
    return None


def _certificate_hint(reason: str, certificate: Certificate,
                      anchor: TrustAnchor | None) -> str | None:
    names = [c.subject_dn for c in load_pem_bundle(anchor.certificate_bundle or "")] \
        if anchor is not None else []
    if "no certificate named" in reason:
        return (f"the leaf's issuer DN ({certificate.issuer_dn}) does not match any "
                f"certificate of trust anchor {anchor.id if anchor else '?'} or of the chain; "
                f"closest: {_closest(certificate.issuer_dn, names)}. Give the intermediate "
                f"CA certificates with --chain (X-Amz-X509-Chain), or add the issuing CA to "
                f"the trust anchor")
    if "does not verify with the key of" in reason:
        return ("a CA of that name exists, but another key signed this certificate: issue "
                "it from the trust anchor's CA, or update the trust anchor with the CA that "
                "really issued it")
    if "expired" in reason or "not yet valid" in reason:
        return "issue a certificate valid now (and check the clocks of the CA and the server)"
    if "keyUsage" in reason:
        return "re-issue the certificate with keyUsage digitalSignature (critical)"
    if "SHA-256 or stronger" in reason:
        return "re-issue the certificate signed with SHA-256 or stronger"
    if "too small" in reason or "key" in reason and "not supported" in reason:
        return "use an RSA key of 2048 bits or more, or EC P-256/P-384/P-521"
    if "must not be a CA" in reason:
        return "sign with an end-entity certificate (basicConstraints CA:FALSE)"
    if "at most" in reason:
        return "send at most 5 intermediate certificates in the chain"
    if "SPIFFE" in reason or "SVID" in reason:
        return ("sign with an X.509-SVID of the trust domain the anchor's "
                "roleport:spiffeTrustDomain tag names (one spiffe:// URI SAN, CA:FALSE, "
                "digitalSignature), issued under that trust domain's bundle")
    return None


_CONDITION = re.compile(r"condition (?P<op>\w+) on (?P<key>\S+) does not match: request has "
                        r"(?P<has>\[.*?\]), policy has (?P<wants>\[.*?\])")


def _assume_hint(reason: str, certificate: Certificate, profile: Profile | None) -> str | None:
    unmet = _CONDITION.search(reason)
    if unmet:
        return (f"the role's trust policy requires {unmet['key']} {unmet['op']} "
                f"{unmet['wants']}; this certificate gives {unmet['has']}: issue a "
                f"certificate that meets the condition, or change the role's trust policy")
    if "condition" in reason:
        tags = session_tags.map_certificate(certificate, profile.attribute_mappings).tags \
            if profile is not None else []
        shown = ", ".join(f"{k}={v}" for k, v in tags) or "none"
        return (f"the role's trust policy conditions are not met by this certificate (its "
                f"session tags: {shown}): issue a certificate that meets them, or change "
                f"the role's trust policy")
    if "MaxSessionDuration" in reason:
        return ("ask for a shorter duration, lower the profile's durationSeconds, or raise "
                "the role's MaxSessionDuration")
    if "trust policy" in reason:
        return ("the role's trust policy must allow rolesanywhere.amazonaws.com "
                "sts:AssumeRole, sts:TagSession and sts:SetSourceIdentity")
    if "." not in reason.removeprefix("Unable to assume role for arn:aws:iam:"):
        return "the role must exist in the trust anchor's account"
    return None
