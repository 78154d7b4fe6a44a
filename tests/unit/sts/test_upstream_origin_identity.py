"""Upstream mode and trusted identity propagation: Roleport's own trust evaluation sees
aws:OriginIdentity/*, and nothing of it is sent to the upstream STS (which could not trust
it: AWS takes origin identities only from assertions it signs)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from roleport.sts.claims import OriginIdentity
from roleport.sts.errors import AssumeRoleDenied
from roleport.sts.upstream import UpstreamIssuer
from tests.unit.sts.test_trust import ALL, ANCHOR, NOW, ROLE_ARN, allow

from roleport.sts.issuer import AssumeRoleRequest

ACCOUNT = ROLE_ARN.split(":")[4]


class FakeIam:
    def __init__(self, trust: dict[str, Any]) -> None:
        self.trust = trust

    def get_role(self, RoleName: str) -> dict[str, Any]:  # noqa: N803 - botocore's names
        return {"Role": {"Arn": ROLE_ARN, "RoleId": "AROAEXAMPLEEXAMPLEEX",
                         "AssumeRolePolicyDocument": self.trust, "MaxSessionDuration": 3600}}


class FakeSts:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def assume_role(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        return {"Credentials": {"AccessKeyId": "ASIAUPSTREAM", "SecretAccessKey": "s",
                                "SessionToken": "t",
                                "Expiration": datetime.now(UTC) + timedelta(hours=1)},
                "AssumedRoleUser": {"Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/app/x",
                                    "AssumedRoleId": "AROAEXAMPLEEXAMPLEEX:x"}}


class Clock:
    def now(self) -> datetime:
        return NOW


def _request(origin: OriginIdentity | None) -> AssumeRoleRequest:
    return AssumeRoleRequest(
        account_id=ACCOUNT, role_arn=ROLE_ARN, role_session_name="0a1b",
        duration_seconds=3600, source_identity="CN=alice",
        session_tags=[("x509Subject/CN", "alice")], session_policy=None, policy_arns=[],
        context={"aws:SourceArn": ANCHOR, "aws:OriginIdentity/Subject": "alice"},
        origin_identity=origin)


def test_the_local_check_sees_the_origin_identity_and_the_upstream_gets_none_of_it():
    trust = {"Version": "2012-10-17", "Statement": [
        allow(ALL, StringEquals={"aws:OriginIdentity/Subject": "alice"})]}
    sts = FakeSts()
    issuer = UpstreamIssuer(FakeIam(trust), sts, Clock())
    issuer.assume_role(_request(OriginIdentity("alice", "workload")))
    [sent] = sts.calls
    assert "OriginIdentity" not in json.dumps(sent, default=str)
    assert "ProvidedContexts" not in sent
    for origin in (OriginIdentity("bob"), None):  # a context key alone does not count
        with pytest.raises(AssumeRoleDenied):
            issuer.assume_role(_request(origin))
    assert len(sts.calls) == 1
