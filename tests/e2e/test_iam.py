"""The IAM role registry through boto3's iam client against a real server: every
operation, IAM's errors, paging, tenant isolation."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from botocore.exceptions import ClientError

ROLES_ANYWHERE = "rolesanywhere.amazonaws.com"
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": ROLES_ANYWHERE},
    "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}]}
S3_READ = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}]}
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def error_of(exc_info) -> tuple[str, int, str]:
    err = exc_info.value.response
    return (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"],
            err["Error"]["Message"])


@pytest.fixture()
def iam(server, account):
    return server.client("iam", account)


def create(iam, name="app", **kw):
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST), **kw)["Role"]


def test_create_role_returns_an_iam_shaped_role(iam, account):
    role = create(iam, "app", Path="/team/", Description="the app",
                  MaxSessionDuration=7200, Tags=[{"Key": "env", "Value": "test"}])
    assert role["Arn"] == f"arn:aws:iam::{account.account_id}:role/team/app"
    assert re.fullmatch(r"AROA[A-Z2-7]{17}", role["RoleId"])
    assert role["Path"] == "/team/" and role["RoleName"] == "app"
    assert role["AssumeRolePolicyDocument"] == TRUST  # URL-encoded on the wire, decoded by boto3
    assert role["Description"] == "the app" and role["MaxSessionDuration"] == 7200
    assert role["Tags"] == [{"Key": "env", "Value": "test"}]
    assert isinstance(role["CreateDate"], datetime)
    got = iam.get_role(RoleName="app")["Role"]
    assert got["RoleLastUsed"] == {}
    assert {k: v for k, v in got.items() if k != "RoleLastUsed"} == role


def test_role_names_are_unique_ignoring_case(iam):
    create(iam, "App")
    with pytest.raises(ClientError) as exc:
        create(iam, "app")
    assert error_of(exc) == ("EntityAlreadyExists", 409, "Role with name app already exists.")
    assert iam.get_role(RoleName="APP")["Role"]["RoleName"] == "App"


def test_get_unknown_role_is_no_such_entity(iam):
    with pytest.raises(ClientError) as exc:
        iam.get_role(RoleName="missing")
    assert error_of(exc) == ("NoSuchEntity", 404, "The role with name missing cannot be found.")


@pytest.mark.parametrize("document,code,status,needle", [
    ("{not json", "MalformedPolicyDocument", 400, "JSON"),
    (json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                 "Action": "sts:AssumeRole"}]}), "MalformedPolicyDocument", 400, "principal"),
    (json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": ROLES_ANYWHERE}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:PrincipalTag/x": ["v" * 40] * 60}}}]}),
     "LimitExceeded", 409, "ACLSizePerRole"),
])
def test_create_refuses_bad_trust_policies(iam, document, code, status, needle):
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName="bad", AssumeRolePolicyDocument=document)
    got_code, got_status, message = error_of(exc)
    assert (got_code, got_status) == (code, status)
    assert needle.lower() in message.lower()


def test_a_trust_policy_may_name_only_roles_that_exist(iam, account):
    other = f"arn:aws:iam::{account.account_id}:role/ghost"
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": other},
                                                   "Action": "sts:AssumeRole"}]}
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(doc))
    assert error_of(exc) == ("MalformedPolicyDocument", 400,
                             f'Invalid principal in policy: "AWS":"{other}"')
    create(iam, "ghost")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(doc))


def test_the_model_constraints_are_validation_errors(server, account):
    from botocore.config import Config

    iam = server.client("iam", account, config=Config(parameter_validation=False,
                                                      retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName="bad name!", AssumeRolePolicyDocument=json.dumps(TRUST),
                        MaxSessionDuration=100)
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationError", 400)
    assert message.startswith("2 validation errors detected")
    assert "Member must satisfy regular expression pattern" in message
    assert "Member must have value greater than or equal to 3600" in message


def test_list_roles_pages_in_name_order_with_markers_and_path_prefix(iam):
    for name, path in [("c", "/"), ("a", "/x/"), ("b", "/x/y/"), ("d", "/z/")]:
        create(iam, name, Path=path)
    first = iam.list_roles(MaxItems=3)
    assert [r["RoleName"] for r in first["Roles"]] == ["a", "b", "c"]
    assert first["IsTruncated"] is True and "Tags" not in first["Roles"][0]
    rest = iam.list_roles(MaxItems=3, Marker=first["Marker"])
    assert [r["RoleName"] for r in rest["Roles"]] == ["d"]
    assert rest["IsTruncated"] is False and "Marker" not in rest
    assert [r["RoleName"] for r in iam.list_roles(PathPrefix="/x/")["Roles"]] == ["a", "b"]
    paginator = iam.get_paginator("list_roles")
    names = [r["RoleName"] for page in paginator.paginate(PaginationConfig={"PageSize": 1})
             for r in page["Roles"]]
    assert names == ["a", "b", "c", "d"]


def test_a_tampered_marker_is_refused(iam):
    create(iam, "a")
    create(iam, "b")
    marker = iam.list_roles(MaxItems=1)["Marker"]
    with pytest.raises(ClientError) as exc:
        iam.list_roles(Marker=marker[:-2] + ("AA" if not marker.endswith("AA") else "BB"))
    assert error_of(exc)[:2] == ("ValidationError", 400)


def test_roles_are_per_account(server, iam):
    create(iam, "mine")
    other = server.client("iam", server.new_account())
    assert other.list_roles()["Roles"] == []
    with pytest.raises(ClientError):
        other.get_role(RoleName="mine")


def test_update_role_and_its_trust_policy(iam):
    create(iam, "app")
    iam.update_role(RoleName="app", Description="new", MaxSessionDuration=43200)
    role = iam.get_role(RoleName="app")["Role"]
    assert (role["Description"], role["MaxSessionDuration"]) == ("new", 43200)
    with pytest.raises(ClientError) as exc:
        iam.update_role(RoleName="app", MaxSessionDuration=43201)
    assert error_of(exc)[:2] == ("ValidationError", 400)
    narrower = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Action": "sts:AssumeRole"}]}
    iam.update_assume_role_policy(RoleName="app", PolicyDocument=json.dumps(narrower))
    assert iam.get_role(RoleName="app")["Role"]["AssumeRolePolicyDocument"] == narrower
    with pytest.raises(ClientError) as exc:
        iam.update_assume_role_policy(RoleName="app", PolicyDocument="[]")
    assert error_of(exc)[:2] == ("MalformedPolicyDocument", 400)
    with pytest.raises(ClientError) as exc:
        iam.update_role(RoleName="nope", Description="x")
    assert error_of(exc)[:2] == ("NoSuchEntity", 404)


def test_tag_untag_and_list_role_tags(iam):
    create(iam, "app", Tags=[{"Key": "a", "Value": "1"}])
    iam.tag_role(RoleName="app", Tags=[{"Key": "A", "Value": "2"}, {"Key": "b", "Value": "3"}])
    tags = iam.list_role_tags(RoleName="app")
    assert tags["Tags"] == [{"Key": "A", "Value": "2"}, {"Key": "b", "Value": "3"}]
    assert tags["IsTruncated"] is False
    page = iam.list_role_tags(RoleName="app", MaxItems=1)
    assert page["IsTruncated"] and page["Tags"] == [{"Key": "A", "Value": "2"}]
    assert iam.list_role_tags(RoleName="app", Marker=page["Marker"])["Tags"] == [
        {"Key": "b", "Value": "3"}]
    iam.untag_role(RoleName="app", TagKeys=["a", "missing"])
    assert iam.list_role_tags(RoleName="app")["Tags"] == [{"Key": "b", "Value": "3"}]
    with pytest.raises(ClientError) as exc:
        iam.tag_role(RoleName="app", Tags=[{"Key": "k", "Value": "1"}, {"Key": "K", "Value": "2"}])
    assert error_of(exc)[:2] == ("InvalidInput", 400)
    with pytest.raises(ClientError) as exc:
        iam.tag_role(RoleName="app", Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert error_of(exc) == ("LimitExceeded", 409, "Cannot exceed quota for TagsPerRole: 50")
    with pytest.raises(ClientError) as exc:
        iam.list_role_tags(RoleName="nope")
    assert error_of(exc)[:2] == ("NoSuchEntity", 404)


def test_inline_role_policies(iam):
    create(iam, "app")
    iam.put_role_policy(RoleName="app", PolicyName="s3", PolicyDocument=json.dumps(S3_READ))
    iam.put_role_policy(RoleName="app", PolicyName="a-first", PolicyDocument=json.dumps(S3_READ))
    got = iam.get_role_policy(RoleName="app", PolicyName="s3")
    assert (got["RoleName"], got["PolicyName"], got["PolicyDocument"]) == ("app", "s3", S3_READ)
    assert iam.list_role_policies(RoleName="app")["PolicyNames"] == ["a-first", "s3"]
    page = iam.list_role_policies(RoleName="app", MaxItems=1)
    assert page["IsTruncated"] and page["PolicyNames"] == ["a-first"]
    iam.delete_role_policy(RoleName="app", PolicyName="a-first")
    assert iam.list_role_policies(RoleName="app")["PolicyNames"] == ["s3"]
    for call in (lambda: iam.get_role_policy(RoleName="app", PolicyName="gone"),
                 lambda: iam.delete_role_policy(RoleName="app", PolicyName="gone")):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == ("NoSuchEntity", 404,
                                 "The role policy with name gone cannot be found.")
    with pytest.raises(ClientError) as exc:
        iam.put_role_policy(RoleName="app", PolicyName="bad", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*"}]}))
    assert error_of(exc)[:2] == ("MalformedPolicyDocument", 400)
    big = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{'b' * 60}/{i}"}
        for i in range(100)]}
    with pytest.raises(ClientError) as exc:
        iam.put_role_policy(RoleName="app", PolicyName="big", PolicyDocument=json.dumps(big))
    assert error_of(exc) == ("LimitExceeded", 409,
                             "Maximum policy size of 10240 bytes exceeded for role app")


def test_attached_role_policies(iam, account):
    create(iam, "app")
    mine = f"arn:aws:iam::{account.account_id}:policy/team/Mine"
    iam.attach_role_policy(RoleName="app", PolicyArn=READ_ONLY)
    iam.attach_role_policy(RoleName="app", PolicyArn=mine)
    iam.attach_role_policy(RoleName="app", PolicyArn=mine)  # twice is once
    listed = iam.list_attached_role_policies(RoleName="app")["AttachedPolicies"]
    assert listed == [{"PolicyName": "Mine", "PolicyArn": mine},  # in ARN order
                      {"PolicyName": "ReadOnlyAccess", "PolicyArn": READ_ONLY}]
    assert iam.list_attached_role_policies(RoleName="app", PathPrefix="/team/")[
        "AttachedPolicies"] == [{"PolicyName": "Mine", "PolicyArn": mine}]
    iam.detach_role_policy(RoleName="app", PolicyArn=READ_ONLY)
    with pytest.raises(ClientError) as exc:
        iam.detach_role_policy(RoleName="app", PolicyArn=READ_ONLY)
    assert error_of(exc) == ("NoSuchEntity", 404, f"Policy {READ_ONLY} was not found.")
    with pytest.raises(ClientError) as exc:
        iam.attach_role_policy(RoleName="app", PolicyArn="arn:aws:s3:::not-a-policy")
    assert error_of(exc) == ("InvalidInput", 400, "ARN arn:aws:s3:::not-a-policy is not valid.")
    for i in range(9):
        iam.attach_role_policy(RoleName="app", PolicyArn=f"{READ_ONLY}{i}")
    with pytest.raises(ClientError) as exc:
        iam.attach_role_policy(RoleName="app", PolicyArn=f"{READ_ONLY}X")
    assert error_of(exc) == ("LimitExceeded", 409, "Cannot exceed quota for PoliciesPerRole: 10")


def test_delete_role_needs_its_policies_gone_first(iam):
    create(iam, "app")
    iam.put_role_policy(RoleName="app", PolicyName="p", PolicyDocument=json.dumps(S3_READ))
    iam.attach_role_policy(RoleName="app", PolicyArn=READ_ONLY)
    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName="app")
    assert error_of(exc) == ("DeleteConflict", 409,
                             "Cannot delete entity, must delete policies first.")
    iam.delete_role_policy(RoleName="app", PolicyName="p")
    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName="app")
    assert error_of(exc) == ("DeleteConflict", 409,
                             "Cannot delete entity, must detach all policies first.")
    iam.detach_role_policy(RoleName="app", PolicyArn=READ_ONLY)
    iam.delete_role(RoleName="app")
    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName="app")
    assert error_of(exc)[:2] == ("NoSuchEntity", 404)


def test_the_aws_cli_manages_roles_unchanged(server, account, tmp_path):
    import subprocess
    import sys

    env = {**server.aws_env(account), "PATH": "/usr/bin:/bin"}
    trust_file = tmp_path / "trust.json"
    trust_file.write_text(json.dumps(TRUST))

    def aws(*args: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "awscli", "iam", *args, "--output", "json"],
                              env=env, capture_output=True, text=True, timeout=60, check=True)
        return json.loads(done.stdout) if done.stdout.strip() else {}

    made = aws("create-role", "--role-name", "cli-role", "--assume-role-policy-document",
               f"file://{trust_file}")
    assert made["Role"]["AssumeRolePolicyDocument"] == TRUST
    assert [r["RoleName"] for r in aws("list-roles")["Roles"]] == ["cli-role"]


def test_max_signin_session_duration_is_stored_returned_and_reset(iam):
    role = iam.create_role(RoleName="signin", AssumeRolePolicyDocument=json.dumps(TRUST),
                           MaxSigninSessionDuration=86400)["Role"]
    assert role["MaxSigninSessionDuration"] == 86400
    assert iam.get_role(RoleName="signin")["Role"]["MaxSigninSessionDuration"] == 86400
    iam.update_role(RoleName="signin", MaxSigninSessionDuration=3600)
    assert iam.get_role(RoleName="signin")["Role"]["MaxSigninSessionDuration"] == 3600
    with pytest.raises(ClientError) as exc:
        iam.update_role(RoleName="signin", MaxSigninSessionDuration=7200,
                        ResetMaxSigninSessionDuration=True)
    assert error_of(exc)[:2] == ("InvalidInput", 400)
    iam.update_role(RoleName="signin", ResetMaxSigninSessionDuration=True)
    assert "MaxSigninSessionDuration" not in iam.get_role(RoleName="signin")["Role"]
