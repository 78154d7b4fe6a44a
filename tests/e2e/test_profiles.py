"""Profiles and attribute mappings through boto3 against a real server."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from .test_trust_anchors import UUID, error_of

ROLE = "arn:aws:iam::{account}:role/app"
DEFAULT_MAPPINGS = [
    {"certificateField": "x509Issuer", "mappingRules": [{"specifier": "*"}]},
    {"certificateField": "x509SAN", "mappingRules": [{"specifier": "DNS"}, {"specifier": "URI"},
                                                     {"specifier": "Name/*"}]},
    {"certificateField": "x509Subject", "mappingRules": [{"specifier": "*"}]},
]
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})


def test_create_profile_applies_documented_defaults(ra, account):
    role = ROLE.format(account=account.account_id)
    out = ra.create_profile(name="app", roleArns=[role])
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    p = out["profile"]
    assert UUID.fullmatch(p["profileId"])
    assert p["profileArn"] == (f"arn:aws:rolesanywhere:us-east-1:{account.account_id}:profile/"
                               f"{p['profileId']}")
    assert p["durationSeconds"] == 3600
    assert p["acceptRoleSessionName"] is False
    assert p["requireInstanceProperties"] is False
    assert p["enabled"] is True
    assert p["roleArns"] == [role]
    assert p["managedPolicyArns"] == []
    assert "sessionPolicy" not in p
    assert p["attributeMappings"] == DEFAULT_MAPPINGS
    assert p["createdBy"] == f"arn:aws:iam::{account.account_id}:root"


def test_create_profile_with_every_member(ra, account):
    role = ROLE.format(account=account.account_id)
    p = ra.create_profile(
        name="full", roleArns=[role, role + "2"], sessionPolicy=POLICY,
        managedPolicyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess"], durationSeconds=900,
        enabled=False, requireInstanceProperties=True, acceptRoleSessionName=True,
        tags=[{"key": "team", "value": "core"}], aliasName="full-profile")["profile"]
    assert (p["sessionPolicy"], p["durationSeconds"], p["enabled"]) == (POLICY, 900, False)
    assert p["requireInstanceProperties"] is True and p["acceptRoleSessionName"] is True
    assert p["aliasArn"] == (f"arn:aws:rolesanywhere:us-east-1:{account.account_id}:"
                             f"alias/profile/full-profile")
    assert ra.list_tags_for_resource(resourceArn=p["profileArn"])["tags"] == [
        {"key": "team", "value": "core"}]


@pytest.mark.parametrize("kwargs,needle", [
    ({"durationSeconds": 899}, "greater than or equal to 900"),
    ({"durationSeconds": 43201}, "less than or equal to 43200"),
    ({"roleArns": ["arn:aws:s3:::bucket"]}, "regular expression pattern"),
    ({"sessionPolicy": "{not json"}, "sessionPolicy"),
    ({"sessionPolicy": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Maybe", "Action": "*", "Resource": "*"}]})}, "sessionPolicy"),
    ({"aliasName": "aws/reserved"}, "reserved"),
    ({"aliasName": "AWS/Reserved"}, "reserved"),
    ({"aliasName": "trailing/"}, "aliasName"),
    ({"aliasName": "double//slash"}, "aliasName"),
    ({"tags": [{"key": "aws:owner", "value": "x"}]}, "aws:"),
    ({"tags": [{"key": f"k{i}", "value": "v"} for i in range(51)]}, "50"),
])
def test_create_profile_validation(ra, account, kwargs, needle):
    args = {"name": "p", "roleArns": [ROLE.format(account=account.account_id)], **kwargs}
    with pytest.raises(ClientError) as exc:
        ra.create_profile(**args)
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert needle in message
    assert ra.list_profiles()["profiles"] == []


def test_update_profile_is_partial_and_replaces_lists(ra, account):
    role = ROLE.format(account=account.account_id)
    p = ra.create_profile(name="p", roleArns=[role], durationSeconds=1800)["profile"]
    up = ra.update_profile(profileId=p["profileId"], roleArns=[role + "-b"],
                           sessionPolicy=POLICY, acceptRoleSessionName=True)["profile"]
    assert up["roleArns"] == [role + "-b"] and up["durationSeconds"] == 1800
    assert up["sessionPolicy"] == POLICY and up["acceptRoleSessionName"] is True
    assert up["name"] == "p" and up["updatedAt"] > p["updatedAt"]


def test_alias_set_change_remove_and_previous_alias_name(ra, account):
    role = ROLE.format(account=account.account_id)
    p = ra.create_profile(name="p", roleArns=[role], aliasName="first")["profile"]
    first_arn = p["aliasArn"]
    changed = ra.update_profile(profileId=first_arn, aliasName="second")["profile"]
    assert changed["aliasName"] == "second" and changed["previousAliasName"] == "first"
    assert "previousAliasName" not in ra.get_profile(profileId=p["profileId"])["profile"]
    with pytest.raises(ClientError) as exc:  # the old alias ARN no longer resolves
        ra.get_profile(profileId=first_arn)
    assert error_of(exc)[0] == "ResourceNotFoundException"
    unchanged = ra.update_profile(profileId=p["profileId"], name="renamed")["profile"]
    assert unchanged["aliasName"] == "second" and "previousAliasName" not in unchanged
    removed = ra.update_profile(profileId=p["profileId"], aliasName="")["profile"]
    assert "aliasName" not in removed and removed["previousAliasName"] == "second"
    # the freed name can be reused by another profile
    other = ra.create_profile(name="q", roleArns=[role], aliasName="first")["profile"]
    assert other["aliasName"] == "first"


def test_alias_is_unique_per_type_account_and_region(ra, server, account, pki):
    from .conftest import bundle_source

    role = ROLE.format(account=account.account_id)
    ra.create_profile(name="p", roleArns=[role], aliasName="shared")
    with pytest.raises(ClientError) as exc:
        ra.create_profile(name="q", roleArns=[role], aliasName="shared")
    assert error_of(exc)[:2] == ("ValidationException", 400)
    assert "already used" in error_of(exc)[2]
    # same name, other resource type: allowed
    ra.create_trust_anchor(name="t", source=bundle_source(pki.root), aliasName="shared")
    # same name, other region: allowed
    west = server.client("rolesanywhere", account, region="eu-west-1", client_validation=False)
    west.create_profile(name="p", roleArns=[role], aliasName="shared")
    # changing another profile to a taken alias: refused, nothing changes
    q = ra.create_profile(name="q", roleArns=[role])["profile"]
    with pytest.raises(ClientError):
        ra.update_profile(profileId=q["profileId"], aliasName="shared", name="changed")
    assert ra.get_profile(profileId=q["profileId"])["profile"]["name"] == "q"


def test_put_and_delete_attribute_mappings(ra, account):
    p = ra.create_profile(name="p", roleArns=[ROLE.format(account=account.account_id)])[
        "profile"]
    pid = p["profileId"]
    out = ra.put_attribute_mapping(profileId=pid, certificateField="x509Subject",
                                   mappingRules=[{"specifier": "CN"}, {"specifier": "OU"}])
    mappings = {m["certificateField"]: m["mappingRules"] for m in out["profile"][
        "attributeMappings"]}
    assert mappings["x509Subject"] == [{"specifier": "CN"}, {"specifier": "OU"}]
    assert mappings["x509Issuer"] == [{"specifier": "*"}]
    out = ra.put_attribute_mapping(profileId=pid, certificateField="x509SAN",
                                   mappingRules=[{"specifier": "Name"}, {"specifier": "DNS"}])
    mappings = {m["certificateField"]: m["mappingRules"] for m in out["profile"][
        "attributeMappings"]}
    assert mappings["x509SAN"] == [{"specifier": "Name/*"}, {"specifier": "DNS"}]
    out = ra.delete_attribute_mapping(profileId=pid, certificateField="x509Subject",
                                      specifiers=["OU", "absent"])
    mappings = {m["certificateField"]: m["mappingRules"] for m in out["profile"][
        "attributeMappings"]}
    assert mappings["x509Subject"] == [{"specifier": "CN"}]
    out = ra.delete_attribute_mapping(profileId=pid, certificateField="x509Issuer")
    fields = [m["certificateField"] for m in out["profile"]["attributeMappings"]]
    assert "x509Issuer" not in fields
    assert out["profile"]["updatedAt"] > p["updatedAt"]
    with pytest.raises(ClientError) as exc:
        ra.put_attribute_mapping(profileId=pid, certificateField="x509Bogus",
                                 mappingRules=[{"specifier": "CN"}])
    assert "enum value set: [x509Subject, x509Issuer, x509SAN]" in error_of(exc)[2]


def test_profile_enable_disable_delete(ra, account):
    p = ra.create_profile(name="p", roleArns=[ROLE.format(account=account.account_id)])[
        "profile"]
    assert ra.disable_profile(profileId=p["profileArn"])["profile"]["enabled"] is False
    assert ra.enable_profile(profileId=p["profileId"])["profile"]["enabled"] is True
    assert ra.delete_profile(profileId=p["profileId"])["profile"]["profileId"] == p["profileId"]
    with pytest.raises(ClientError) as exc:
        ra.get_profile(profileId=p["profileId"])
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
