"""Set up what CreateSession needs, through the public APIs: a trust anchor, a role whose
trust policy lets Roles Anywhere assume it, and a profile naming the role.

Used by ``roleport quickstart`` (idempotent: reuses what it made before) and by the test
helpers of :mod:`roleport.testing` (always fresh). It takes ``rolesanywhere`` and ``iam``
clients (boto3 or botocore), so it works against Roleport and against AWS alike.

The role's trust policy is the one AWS recommends for Roles Anywhere: the service may
``sts:AssumeRole``, ``sts:TagSession`` and ``sts:SetSourceIdentity``, only for sessions
coming through the given trust anchors (``aws:SourceArn``)::

    {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "rolesanywhere.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
        "Condition": {"ArnEquals": {
            "aws:SourceArn": ["arn:aws:rolesanywhere:...:trust-anchor/..."]}}}]}
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TRUST_ACTIONS", "Provisioned", "provision", "trust_policy"]

TRUST_ACTIONS = ("sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity")
SERVICE_PRINCIPAL = "rolesanywhere.amazonaws.com"


def trust_policy(trust_anchor_arns: Sequence[str] = ()) -> str:
    """The role trust policy for Roles Anywhere, limited to ``trust_anchor_arns`` if given."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": SERVICE_PRINCIPAL},
                                 "Action": list(TRUST_ACTIONS)}
    if trust_anchor_arns:
        statement["Condition"] = {"ArnEquals": {"aws:SourceArn": list(trust_anchor_arns)}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@dataclass(frozen=True)
class Provisioned:
    """The ARNs CreateSession needs, and which of the resources were created now."""

    trust_anchor_arn: str
    profile_arn: str
    role_arn: str
    created: dict[str, bool] = field(default_factory=dict)

    @property
    def region(self) -> str:
        return self.trust_anchor_arn.split(":")[3]


def _pages(call: Any, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        page = call(**kwargs, **({"nextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("nextToken")
        if not token:
            return


def _same_pem(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


def provision(ra: Any, iam: Any, *, ca_pem: str, name: str = "roleport-quickstart",
              role_name: str | None = None, duration_seconds: int = 3600, reuse: bool = False,
              accept_role_session_name: bool = False,
              max_session_duration: int = 3600) -> Provisioned:
    """Create (or with ``reuse``, find) the trust anchor for ``ca_pem``, the role and the
    profile, all named ``name`` (the role ``role_name`` if given)."""
    created = {"trustAnchor": False, "role": False, "profile": False}
    role_name = role_name or name
    anchor = None
    if reuse:
        anchor = next((a for a in _pages(ra.list_trust_anchors, "trustAnchors")
                       if a.get("name") == name and a.get("enabled") and _same_pem(
                           a.get("source", {}).get("sourceData", {}).get(
                               "x509CertificateData", ""), ca_pem)), None)
    if anchor is None:
        anchor = ra.create_trust_anchor(name=name, enabled=True, source={
            "sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": ca_pem}})["trustAnchor"]
        created["trustAnchor"] = True
    anchor_arn = anchor["trustAnchorArn"]
    policy = trust_policy([anchor_arn])

    role_arn = None
    if reuse:
        try:
            role_arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            role_arn = None
        if role_arn is not None:
            iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=policy)
    if role_arn is None:
        role_arn = iam.create_role(
            RoleName=role_name, AssumeRolePolicyDocument=policy,
            MaxSessionDuration=max(max_session_duration, duration_seconds),
            Description="Assumed through IAM Roles Anywhere (made by Roleport)")["Role"]["Arn"]
        created["role"] = True

    profile = None
    if reuse:
        profile = next((p for p in _pages(ra.list_profiles, "profiles")
                        if p.get("name") == name and p.get("enabled")
                        and role_arn in p.get("roleArns", [])
                        and bool(p.get("acceptRoleSessionName")) == accept_role_session_name),
                       None)
    if profile is None:
        profile = ra.create_profile(name=name, enabled=True, roleArns=[role_arn],
                                    durationSeconds=duration_seconds,
                                    acceptRoleSessionName=accept_role_session_name)["profile"]
        created["profile"] = True
    return Provisioned(anchor_arn, profile["profileArn"], role_arn, created)
