"""Trust anchors through boto3 against a real server."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from botocore.exceptions import ClientError

from roleport.crypto import devpki

from .conftest import bundle_source

UUID = re.compile(r"[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[a-f0-9]{4}-[a-f0-9]{12}")


def error_of(exc_info) -> tuple[str, int, str]:  # noqa: ANN001
    err = exc_info.value.response
    return (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"],
            err["Error"]["Message"])


def test_create_trust_anchor_returns_aws_shaped_resource(ra, account, pki):
    out = ra.create_trust_anchor(name="corp-ca", source=bundle_source(pki.root))
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    ta = out["trustAnchor"]
    assert UUID.fullmatch(ta["trustAnchorId"])
    assert ta["trustAnchorArn"] == (f"arn:aws:rolesanywhere:us-east-1:{account.account_id}:"
                                    f"trust-anchor/{ta['trustAnchorId']}")
    assert ta["name"] == "corp-ca"
    assert ta["enabled"] is True  # documented decision: enabled defaults to true
    assert ta["crlDpRevocationEnabled"] is False
    assert ta["source"]["sourceType"] == "CERTIFICATE_BUNDLE"
    assert ta["source"]["sourceData"]["x509CertificateData"] == pki.root.cert_pem
    assert isinstance(ta["createdAt"], datetime) and ta["createdAt"].tzinfo is not None
    assert ta["updatedAt"] == ta["createdAt"]
    assert "aliasName" not in ta and "aliasArn" not in ta and "previousAliasName" not in ta
    assert ta["notificationSettings"] == [
        {"enabled": True, "event": "CA_CERTIFICATE_EXPIRY", "threshold": 45, "channel": "ALL",
         "configuredBy": "rolesanywhere.amazonaws.com"},
        {"enabled": True, "event": "END_ENTITY_CERTIFICATE_EXPIRY", "threshold": 45,
         "channel": "ALL", "configuredBy": "rolesanywhere.amazonaws.com"},
    ]
    got = ra.get_trust_anchor(trustAnchorId=ta["trustAnchorId"])["trustAnchor"]
    assert got == ta


def test_get_accepts_id_arn_and_alias_arn(ra, pki):
    ta = ra.create_trust_anchor(name="a", source=bundle_source(pki.root),
                                aliasName="team/corp-ca")["trustAnchor"]
    assert ta["aliasName"] == "team/corp-ca"
    assert ta["aliasArn"].endswith(":alias/trust-anchor/team/corp-ca")
    for ident in (ta["trustAnchorId"], ta["trustAnchorArn"], ta["aliasArn"]):
        assert ra.get_trust_anchor(trustAnchorId=ident)["trustAnchor"]["trustAnchorId"] == \
            ta["trustAnchorId"]


def test_two_certificate_bundle_and_intermediate_anchor_are_accepted(ra, pki):
    ta = ra.create_trust_anchor(name="two", source=bundle_source(pki.root, pki.rsa_root))
    assert ta["trustAnchor"]["source"]["sourceData"]["x509CertificateData"].count(
        "BEGIN CERTIFICATE") == 2
    ra.create_trust_anchor(name="inter", source=bundle_source(pki.intermediate))


@pytest.mark.parametrize("make,needle", [
    (lambda pki: devpki.issue_leaf(pki.root, "leaf").cert_pem, "CA"),
    (lambda pki: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "parse"),
    (lambda pki: "not pem at all", "PEM"),
    (lambda pki: devpki.create_root_ca("no sign", key_usage={"crl_sign"}).cert_pem,
     "keyCertSign"),
])
def test_create_refuses_certificates_that_cannot_be_anchors(ra, pki, make, needle):
    source = {"sourceType": "CERTIFICATE_BUNDLE",
              "sourceData": {"x509CertificateData": make(pki)}}
    with pytest.raises(ClientError) as exc:
        ra.create_trust_anchor(name="bad", source=source)
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert needle.lower() in message.lower()
    assert ra.list_trust_anchors()["trustAnchors"] == []


def test_more_certificates_than_the_quota_is_refused(ra, pki):
    with pytest.raises(ClientError) as exc:
        ra.create_trust_anchor(name="three", source=bundle_source(pki.root, pki.rsa_root,
                                                                  pki.other_root))
    assert "certificates per trust anchor" in error_of(exc)[2]


@pytest.mark.parametrize("source_type,data", [
    ("SELF_SIGNED_REPOSITORY", {"x509CertificateData": "x"}),
])
def test_unsupported_source_types_get_a_clear_validation_error(ra, source_type, data):
    with pytest.raises(ClientError) as exc:
        ra.create_trust_anchor(name="x", source={"sourceType": source_type, "sourceData": data})
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "not supported" in message


def test_model_constraints_are_reported_together_in_aws_wording(ra, pki):
    with pytest.raises(ClientError) as exc:
        ra.create_trust_anchor(name="bad/name!" + "x" * 300, source=bundle_source(pki.root),
                               aliasName="9starts-with-digit")
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("3 validation errors detected: ")
    assert "at 'name' failed to satisfy constraint: Member must have length less than or " \
           "equal to 255" in message
    assert "at 'name' failed to satisfy constraint: Member must satisfy regular expression " \
           "pattern: [ a-zA-Z0-9-_]*" in message
    assert "at 'aliasName' failed to satisfy constraint" in message


def test_update_is_partial_and_moves_updated_at(ra, pki):
    ta = ra.create_trust_anchor(name="before", source=bundle_source(pki.root))["trustAnchor"]
    up = ra.update_trust_anchor(trustAnchorId=ta["trustAnchorId"], name="after",
                                crlDpRevocationEnabled=True)["trustAnchor"]
    assert up["name"] == "after" and up["crlDpRevocationEnabled"] is True
    assert up["source"] == ta["source"] and up["enabled"] is True
    assert up["updatedAt"] > ta["updatedAt"] and up["createdAt"] == ta["createdAt"]
    up2 = ra.update_trust_anchor(trustAnchorId=ta["trustAnchorId"],
                                 source=bundle_source(pki.rsa_root))["trustAnchor"]
    assert up2["source"] == bundle_source(pki.rsa_root) and up2["name"] == "after"


def test_enable_disable_are_idempotent_and_return_the_resource(ra, pki):
    ta_id = ra.create_trust_anchor(name="x", source=bundle_source(pki.root))["trustAnchor"][
        "trustAnchorId"]
    for _ in range(2):
        assert ra.disable_trust_anchor(trustAnchorId=ta_id)["trustAnchor"]["enabled"] is False
    assert ra.get_trust_anchor(trustAnchorId=ta_id)["trustAnchor"]["enabled"] is False
    for _ in range(2):
        assert ra.enable_trust_anchor(trustAnchorId=ta_id)["trustAnchor"]["enabled"] is True
    created = ra.create_trust_anchor(name="off", source=bundle_source(pki.root), enabled=False)
    assert created["trustAnchor"]["enabled"] is False


def test_delete_returns_last_state_then_not_found(ra, pki):
    ta = ra.create_trust_anchor(name="x", source=bundle_source(pki.root))["trustAnchor"]
    deleted = ra.delete_trust_anchor(trustAnchorId=ta["trustAnchorId"])["trustAnchor"]
    assert deleted["trustAnchorId"] == ta["trustAnchorId"] and deleted["name"] == "x"
    for call in (ra.get_trust_anchor, ra.delete_trust_anchor, ra.enable_trust_anchor):
        with pytest.raises(ClientError) as exc:
            call(trustAnchorId=ta["trustAnchorId"])
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_identifier_that_is_not_an_id_or_arn_is_a_validation_error(ra):
    with pytest.raises(ClientError) as exc:
        ra.get_trust_anchor(trustAnchorId="not-an-id")
    assert error_of(exc)[:2] == ("ValidationException", 400)


def test_arn_of_another_region_is_not_found(ra, server, account, pki):
    ta = ra.create_trust_anchor(name="x", source=bundle_source(pki.root))["trustAnchor"]
    west = server.client("rolesanywhere", account, region="us-west-2", client_validation=False)
    with pytest.raises(ClientError) as exc:
        west.get_trust_anchor(trustAnchorId=ta["trustAnchorArn"])
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_trust_anchor_quota_is_enforced(server, pki):
    acct = server.new_account()
    from roleport.testing import RoleportServer

    with RoleportServer(http=True, extra_args=["--quota-trust-anchors", "2"]) as small:
        acct = small.new_account()
        client = small.client("rolesanywhere", acct)
        for i in range(2):
            client.create_trust_anchor(name=f"t{i}", source=bundle_source(pki.root))
        with pytest.raises(ClientError) as exc:
            client.create_trust_anchor(name="t3", source=bundle_source(pki.root))
        code, _, message = error_of(exc)
        assert code == "ValidationException" and "trust anchors" in message
        assert len(client.list_trust_anchors()["trustAnchors"]) == 2


def test_notification_settings_put_and_reset(ra, account, pki):
    ta_id = ra.create_trust_anchor(name="x", source=bundle_source(pki.root))["trustAnchor"][
        "trustAnchorId"]
    out = ra.put_notification_settings(trustAnchorId=ta_id, notificationSettings=[
        {"enabled": False, "event": "END_ENTITY_CERTIFICATE_EXPIRY"},
        {"enabled": True, "event": "CA_CERTIFICATE_EXPIRY", "threshold": 10, "channel": "ALL"},
    ])["trustAnchor"]["notificationSettings"]
    by_event = {s["event"]: s for s in out}
    assert by_event["CA_CERTIFICATE_EXPIRY"] == {
        "enabled": True, "event": "CA_CERTIFICATE_EXPIRY", "threshold": 10, "channel": "ALL",
        "configuredBy": account.account_id}
    assert by_event["END_ENTITY_CERTIFICATE_EXPIRY"]["enabled"] is False
    assert by_event["END_ENTITY_CERTIFICATE_EXPIRY"]["threshold"] == 45
    assert len(out) == 2
    reset = ra.reset_notification_settings(trustAnchorId=ta_id, notificationSettingKeys=[
        {"event": "CA_CERTIFICATE_EXPIRY"}])["trustAnchor"]["notificationSettings"]
    by_event = {s["event"]: s for s in reset}
    assert by_event["CA_CERTIFICATE_EXPIRY"]["configuredBy"] == "rolesanywhere.amazonaws.com"
    assert by_event["CA_CERTIFICATE_EXPIRY"]["threshold"] == 45
    assert by_event["END_ENTITY_CERTIFICATE_EXPIRY"]["configuredBy"] == account.account_id


def test_notification_settings_errors(ra, pki):
    ta_id = ra.create_trust_anchor(name="x", source=bundle_source(pki.root))["trustAnchor"][
        "trustAnchorId"]
    with pytest.raises(ClientError) as exc:
        ra.put_notification_settings(trustAnchorId=ta_id, notificationSettings=[
            {"enabled": True, "event": "CA_CERTIFICATE_EXPIRY", "threshold": 400}])
    assert "less than or equal to 360" in error_of(exc)[2]
    with pytest.raises(ClientError) as exc:
        ra.put_notification_settings(trustAnchorId=ta_id, notificationSettings=[
            {"enabled": True, "event": "CA_CERTIFICATE_EXPIRY", "threshold": 5},
            {"enabled": False, "event": "CA_CERTIFICATE_EXPIRY"}])
    assert "more than once" in error_of(exc)[2]
    with pytest.raises(ClientError) as exc:
        ra.put_notification_settings(trustAnchorId="0" * 8 + "-0000-4000-8000-" + "0" * 12,
                                     notificationSettings=[])
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_create_with_notification_settings(ra, account, pki):
    ta = ra.create_trust_anchor(name="x", source=bundle_source(pki.root), notificationSettings=[
        {"enabled": True, "event": "CA_CERTIFICATE_EXPIRY", "threshold": 90}])["trustAnchor"]
    ca = next(s for s in ta["notificationSettings"] if s["event"] == "CA_CERTIFICATE_EXPIRY")
    assert ca["threshold"] == 90 and ca["configuredBy"] == account.account_id
