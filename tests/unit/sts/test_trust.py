"""The checks before credentials are issued: trust policy for every action, duration,
inputs and packed size, with AWS's wording."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from roleport.sts import trust
from roleport.sts.errors import (
    AssumeRoleDenied,
    DurationTooLong,
    PackedPolicyTooLarge,
    SessionPolicyInvalid,
)
from roleport.sts.issuer import AssumeRoleRequest

NOW = datetime(2026, 1, 2, tzinfo=UTC)
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/app"
ANCHOR = f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:trust-anchor/ta"


def role(statements: list[dict], max_session_duration: int = 3600) -> trust.RoleFacts:
    doc = json.dumps({"Version": "2012-10-17", "Statement": statements})
    return trust.RoleFacts(arn=ROLE_ARN, role_id="AROAEXAMPLEEXAMPLEEX", name="app",
                           account_id=ACCOUNT, trust_policy=doc,
                           max_session_duration=max_session_duration)


def allow(actions, **condition) -> dict:
    statement = {"Effect": "Allow", "Principal": {"Service": "rolesanywhere.amazonaws.com"},
                 "Action": actions}
    if condition:
        statement["Condition"] = condition
    return statement


ALL = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]


def ask(**changes) -> trust.Ask:
    base = dict(account_id=ACCOUNT, role_arn=ROLE_ARN, role_session_name="0a1b",
                duration_seconds=3600, source_identity="CN=alice",
                session_tags=[("x509Subject/CN", "alice")], session_policy=None,
                policy_arns=[], context={"aws:SourceArn": ANCHOR, "aws:SourceAccount": ACCOUNT,
                                         "aws:PrincipalTag/x509Subject/CN": "alice"})
    base.update(changes)
    return AssumeRoleRequest(**base).ask()


def test_a_trust_policy_allowing_the_three_actions_issues():
    assert trust.check_all(role([allow(ALL)]), ask(), NOW, same_account=True) >= 1


@pytest.mark.parametrize("missing", ["sts:TagSession", "sts:SetSourceIdentity"])
def test_each_action_the_request_needs_must_be_allowed(missing):
    actions = [a for a in ALL if a != missing]
    with pytest.raises(AssumeRoleDenied) as exc:
        trust.check_all(role([allow(actions)]), ask(), NOW, same_account=True)
    assert exc.value.message.startswith(f"Unable to assume role for {ROLE_ARN}")
    assert missing in exc.value.message


def test_tag_session_is_not_needed_without_tags():
    facts = role([allow(["sts:AssumeRole", "sts:SetSourceIdentity"])])
    trust.check_all(facts, ask(session_tags=[]), NOW, same_account=True)


def test_conditions_see_source_arn_principal_tags_request_tags_and_source_identity():
    facts = role([allow(ALL, ArnEquals={"aws:SourceArn": ANCHOR},
                        StringEquals={"aws:PrincipalTag/x509Subject/CN": "alice",
                                      "aws:RequestTag/x509Subject/CN": "alice",
                                      "sts:SourceIdentity": "CN=alice"},
                        **{"ForAllValues:StringEquals": {"aws:TagKeys": ["x509Subject/CN"]}})])
    trust.check_all(facts, ask(), NOW, same_account=True)
    other = ask(context={"aws:SourceArn": ANCHOR + "x"})
    with pytest.raises(AssumeRoleDenied):
        trust.check_all(facts, other, NOW, same_account=True)


def test_explicit_deny_wins_and_says_so_without_quoting_the_policy():
    deny = {"Effect": "Deny", "Principal": {"Service": "rolesanywhere.amazonaws.com"},
            "Action": "sts:AssumeRole", "Sid": "SecretSid"}
    with pytest.raises(AssumeRoleDenied) as exc:
        trust.check_all(role([allow(ALL), deny]), ask(), NOW, same_account=True)
    assert "explicitly denies sts:AssumeRole" in exc.value.message
    assert "SecretSid" not in exc.value.message


def test_duration_over_the_role_maximum_has_aws_message():
    with pytest.raises(DurationTooLong) as exc:
        trust.check_all(role([allow(ALL)]), ask(duration_seconds=3601), NOW, same_account=True)
    assert exc.value.message == (f"Unable to assume role for {ROLE_ARN}. The requested "
                                 f"DurationSeconds exceeds the MaxSessionDuration set for "
                                 f"this role.")


def test_a_role_of_another_account_is_refused_for_the_service_principal():
    with pytest.raises(AssumeRoleDenied) as exc:
        trust.check_all(role([allow(ALL)]), ask(account_id="999999999999"), NOW,
                        same_account=True)
    assert exc.value.message == f"Unable to assume role for {ROLE_ARN}"


def test_invalid_session_policy_and_inputs_are_refused():
    with pytest.raises(SessionPolicyInvalid):
        trust.check_all(role([allow(ALL)]), ask(session_policy="{"), NOW, same_account=True)
    with pytest.raises(AssumeRoleDenied):
        trust.check_all(role([allow(ALL)]), ask(role_session_name="a b"), NOW,
                        same_account=True)
    with pytest.raises(AssumeRoleDenied):
        trust.check_all(role([allow(ALL)]), ask(session_tags=[("a", "x(y)")]), NOW,
                        same_account=True)


def test_packed_size_is_a_percentage_and_too_much_is_refused():
    assert trust.packed_policy_percent(None, [], []) == 0
    small = trust.packed_policy_percent(None, [], [("k", "v")])
    bigger = trust.packed_policy_percent(None, [], [(f"k{i}", f"v{i}" * 20) for i in range(20)])
    assert 1 <= small < bigger <= 100
    import os
    noise = [(f"k{i}", os.urandom(100).hex()[:250]) for i in range(40)]
    with pytest.raises(PackedPolicyTooLarge) as exc:
        trust.check_all(role([allow(ALL)]), ask(session_tags=noise), NOW, same_account=True)
    assert "Packed policy consumes" in exc.value.message
