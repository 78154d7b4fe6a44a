"""Trusted identity propagation (profile ``tipConfiguration``) through boto3 and a real
server: stored and returned by every profile operation, kept consistent with the attribute
mappings, and turned by CreateSession into ``aws:OriginIdentity/*`` keys that trust
policies can test and callers cannot set."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from roleport.crypto import devpki
from roleport.testing import RoleportServer

from .clients.support import Setup, error_of, post_session, sts_identity, trust_policy
from .test_sts import trust_for
from .test_trust_anchors import error_of as client_error_of

TIP = {"status": "ENABLED", "subjectType": "workload", "subjectSource": "x509Subject/CN"}


@pytest.fixture()
def world(server: RoleportServer, pki) -> Setup:
    return Setup(server, server.new_account(), [pki.root])


def test_tip_configuration_round_trips_through_create_get_update_list(world: Setup) -> None:
    ra = world.ra
    plain = world.profile
    assert "tipConfiguration" not in plain  # through the API, only when the request asks
    created = world.new_profile(tipConfiguration=TIP)
    assert created["tipConfiguration"] == TIP
    profile_id = created["profileId"]
    assert ra.get_profile(profileId=profile_id)["profile"]["tipConfiguration"] == TIP

    changed = {"status": "ENABLED", "subjectType": "user", "subjectSource": "x509SAN/URI"}
    updated = ra.update_profile(profileId=profile_id, tipConfiguration=changed)["profile"]
    assert updated["tipConfiguration"] == changed
    assert ra.get_profile(profileId=profile_id)["profile"]["tipConfiguration"] == changed
    # an update that does not name tipConfiguration keeps it
    ra.update_profile(profileId=profile_id, name="renamed")
    listed = {p["profileId"]: p for p in ra.list_profiles()["profiles"]}
    assert listed[profile_id]["tipConfiguration"] == changed
    assert "tipConfiguration" not in listed[plain["profileId"]]


def test_subject_source_defaults_to_the_common_name_and_subject_type_stays_absent(
        world: Setup) -> None:
    created = world.new_profile(tipConfiguration={"status": "DISABLED"})
    assert created["tipConfiguration"] == {"status": "DISABLED",
                                           "subjectSource": "x509Subject/CN"}


@pytest.mark.parametrize("value,needle", [
    ({"status": "ON"}, "tipConfiguration.status"),
    ({"status": "ENABLED", "subjectType": "robot"}, "tipConfiguration.subjectType"),
    ({"status": "ENABLED", "subjectSource": "x509Issuer/CN"}, "tipConfiguration.subjectSource"),
    ({"subjectType": "user"}, "tipConfiguration.status"),
])
def test_invalid_tip_configuration_is_a_validation_error(world: Setup, value, needle) -> None:
    ra = world.server.client("rolesanywhere", world.account, client_validation=False)
    with pytest.raises(ClientError) as exc:
        ra.create_profile(name="p", roleArns=[world.role_arn], tipConfiguration=value)
    code, status, message = client_error_of(exc)
    assert (code, status) == ("ValidationException", 400) and needle in message


def test_attribute_mappings_must_keep_the_rule_for_the_subject_source(world: Setup) -> None:
    ra = world.ra
    profile_id = world.new_profile(tipConfiguration=TIP)["profileId"]
    for call in (lambda: ra.put_attribute_mapping(profileId=profile_id,
                                                  certificateField="x509Subject",
                                                  mappingRules=[{"specifier": "OU"}]),
                 lambda: ra.delete_attribute_mapping(profileId=profile_id,
                                                     certificateField="x509Subject")):
        with pytest.raises(ClientError) as exc:
            call()
        code, status, message = client_error_of(exc)
        assert (code, status) == ("ValidationException", 400)
        assert "x509Subject/CN" in message and "'CN' or '*'" in message
    mappings = ra.get_profile(profileId=profile_id)["profile"]["attributeMappings"]
    assert {"certificateField": "x509Subject", "mappingRules": [{"specifier": "*"}]} in mappings

    # CN alone is a rule for x509Subject/CN; other fields are free to change
    ra.put_attribute_mapping(profileId=profile_id, certificateField="x509Subject",
                             mappingRules=[{"specifier": "CN"}])
    ra.delete_attribute_mapping(profileId=profile_id, certificateField="x509SAN")
    # ... so enabling x509SAN/URI now lacks its rule
    with pytest.raises(ClientError) as exc:
        ra.update_profile(profileId=profile_id, tipConfiguration={
            "status": "ENABLED", "subjectSource": "x509SAN/URI"})
    code, status, message = client_error_of(exc)
    assert (code, status) == ("ValidationException", 400) and "'URI'" in message
    assert ra.get_profile(profileId=profile_id)["profile"]["tipConfiguration"] == TIP

    # a disabled TIP does not hold the mappings
    ra.update_profile(profileId=profile_id, tipConfiguration={"status": "DISABLED"})
    ra.delete_attribute_mapping(profileId=profile_id, certificateField="x509Subject")


def _profile_for(world: Setup, role: str, tip: dict | None) -> dict:
    kw = {"tipConfiguration": tip} if tip else {}
    world.profile = world.new_profile(roleArns=[role], **kw)
    return {**world.arns, "roleArn": role}


def test_create_session_refuses_a_certificate_without_the_subject_field(world: Setup,
                                                                       pki) -> None:
    body = _profile_for(world, world.role_arn, {"status": "ENABLED",
                                                "subjectSource": "x509SAN/URI"})
    status, code, message = error_of(post_session(
        world.server, devpki.issue_leaf(pki.root, "no-uri", sans=["DNS:a.example"]), body=body))
    assert (status, code) == (403, "AccessDeniedException")
    assert message == (f"Unable to assume role for {world.role_arn}. The certificate has no "
                       f"x509SAN/URI value for the profile's trusted identity propagation.")
    with_uri = devpki.issue_leaf(pki.root, "uri", sans=["URI:spiffe://example.org/app"])
    assert post_session(world.server, with_uri, body=body).status_code == 201


def test_trust_policy_conditions_see_the_origin_identity(world: Setup, pki) -> None:
    role = world.role("only-alice", policy=trust_policy(condition={"StringEquals": {
        "aws:OriginIdentity/Subject": "alice", "aws:OriginIdentity/SubjectType": "user"}}))
    body = _profile_for(world, role, {"status": "ENABLED", "subjectType": "user"})
    alice = post_session(world.server, devpki.issue_leaf(pki.root, "alice"), body=body)
    assert alice.status_code == 201, alice.text
    [issued] = alice.json()["credentialSet"]
    # GetCallerIdentity answers as for any session: STS has no member for the origin identity
    identity = sts_identity(world.server, issued["credentials"])
    assert identity["Arn"] == issued["assumedRoleUser"]["arn"]
    assert set(identity) - {"ResponseMetadata"} == {"UserId", "Account", "Arn"}
    status, _, message = error_of(post_session(world.server, devpki.issue_leaf(pki.root, "bob"),
                                               body=body))
    assert status == 403 and message.startswith(f"Unable to assume role for {role}")

    # without TIP the keys are absent: the same certificate is refused
    body = _profile_for(world, role, None)
    status, _, _ = error_of(post_session(world.server, devpki.issue_leaf(pki.root, "alice"),
                                         body=body))
    assert status == 403


def test_session_tags_cannot_stand_in_for_the_origin_identity(world: Setup, server) -> None:
    """An admin's AssumeRole with a tag named like the key does not satisfy a condition on
    it (the tag is aws:RequestTag/..., never aws:OriginIdentity/...)."""
    account = world.account.account_id
    statement = json.loads(trust_for(account, ("sts:AssumeRole", "sts:TagSession")))
    statement["Statement"][0]["Condition"] = {
        "StringEquals": {"aws:OriginIdentity/Subject": "alice"}}
    role = world.iam.create_role(RoleName="tip-only",
                                 AssumeRolePolicyDocument=json.dumps(statement))["Role"]["Arn"]
    sts = server.client("sts", world.account)
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=role, RoleSessionName="spoof", Tags=[
            {"Key": "aws:OriginIdentity/Subject", "Value": "alice"}])
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
