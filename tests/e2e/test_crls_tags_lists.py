"""CRLs, subjects, tags and pagination through boto3 against a real server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from roleport.crypto import devpki

from .conftest import bundle_source
from .test_trust_anchors import error_of


@pytest.fixture()
def anchor(ra, pki):  # noqa: ANN001, ANN201
    return ra.create_trust_anchor(name="ca", source=bundle_source(pki.root))["trustAnchor"]


def make_crl(issuer, serials=(1234,)):  # noqa: ANN001, ANN201
    now = datetime.now(timezone.utc)
    return devpki.create_crl(issuer, revoked=[(s, now) for s in serials],
                             next_update=now + timedelta(days=7))


def test_import_crl_pem_and_read_back_the_same_bytes(ra, anchor, pki):
    crl = make_crl(pki.root)
    pem = crl.pem.encode() if isinstance(crl.pem, str) else crl.pem
    out = ra.import_crl(name="crl1", crlData=pem, trustAnchorArn=anchor["trustAnchorArn"])
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    c = out["crl"]
    assert c["crlData"] == pem and c["enabled"] is True
    assert c["trustAnchorArn"] == anchor["trustAnchorArn"]
    assert c["crlArn"].endswith(f":crl/{c['crlId']}")
    assert ra.get_crl(crlId=c["crlId"])["crl"]["crlData"] == pem


def test_import_crl_der_is_accepted(ra, anchor, pki):
    crl = make_crl(pki.root)
    c = ra.import_crl(name="der", crlData=crl.der, trustAnchorArn=anchor["trustAnchorArn"])
    assert c["crl"]["crlData"] == crl.der


def test_crl_signed_by_another_ca_is_refused(ra, anchor, pki):
    with pytest.raises(ClientError) as exc:
        ra.import_crl(name="x", crlData=make_crl(pki.other_root).der,
                      trustAnchorArn=anchor["trustAnchorArn"])
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "not signed" in message
    assert ra.list_crls()["crls"] == []


def test_garbage_crl_is_refused(ra, anchor):
    with pytest.raises(ClientError) as exc:
        ra.import_crl(name="x", crlData=b"garbage", trustAnchorArn=anchor["trustAnchorArn"])
    assert error_of(exc)[:2] == ("ValidationException", 400)


def test_import_crl_with_alias_arn_or_unknown_anchor_is_not_found(ra, pki):
    ta = ra.create_trust_anchor(name="ca", source=bundle_source(pki.root),
                                aliasName="ca-alias")["trustAnchor"]
    for arn in (ta["aliasArn"], ta["trustAnchorArn"][:-12] + "000000000000"):
        with pytest.raises(ClientError) as exc:
            ra.import_crl(name="x", crlData=make_crl(pki.root).der, trustAnchorArn=arn)
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_two_crls_per_anchor_then_quota(ra, anchor, pki):
    for i in range(2):
        ra.import_crl(name=f"c{i}", crlData=make_crl(pki.root).der,
                      trustAnchorArn=anchor["trustAnchorArn"])
    with pytest.raises(ClientError) as exc:
        ra.import_crl(name="c3", crlData=make_crl(pki.root).der,
                      trustAnchorArn=anchor["trustAnchorArn"])
    assert "CRLs per trust anchor" in error_of(exc)[2]


def test_update_enable_disable_delete_crl(ra, anchor, pki):
    c = ra.import_crl(name="c", crlData=make_crl(pki.root).der,
                      trustAnchorArn=anchor["trustAnchorArn"], enabled=False)["crl"]
    assert c["enabled"] is False
    new = make_crl(pki.root, serials=(1, 2, 3)).der
    up = ra.update_crl(crlId=c["crlArn"], name="renamed", crlData=new,
                       aliasName="latest")["crl"]
    assert (up["name"], up["crlData"], up["aliasName"]) == ("renamed", new, "latest")
    assert up["updatedAt"] > c["updatedAt"]
    with pytest.raises(ClientError):
        ra.update_crl(crlId=c["crlId"], crlData=make_crl(pki.other_root).der)
    assert ra.get_crl(crlId=up["aliasArn"])["crl"]["crlData"] == new
    assert ra.enable_crl(crlId=c["crlId"])["crl"]["enabled"] is True
    assert ra.disable_crl(crlId=c["crlId"])["crl"]["enabled"] is False
    assert ra.delete_crl(crlId=c["crlId"])["crl"]["crlId"] == c["crlId"]
    with pytest.raises(ClientError) as exc:
        ra.get_crl(crlId=c["crlId"])
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_deleting_a_trust_anchor_deletes_its_crls(ra, anchor, pki):
    c = ra.import_crl(name="c", crlData=make_crl(pki.root).der,
                      trustAnchorArn=anchor["trustAnchorArn"])["crl"]
    ra.delete_trust_anchor(trustAnchorId=anchor["trustAnchorId"])
    with pytest.raises(ClientError):
        ra.get_crl(crlId=c["crlId"])
    assert ra.list_crls()["crls"] == []


def test_tags_add_overwrite_remove_and_limit(ra, anchor):
    arn = anchor["trustAnchorArn"]
    out = ra.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "1"},
                                                 {"key": "b", "value": "2"}])
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    ra.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "one"}])
    assert ra.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "a", "value": "one"}, {"key": "b", "value": "2"}]
    ra.untag_resource(resourceArn=arn, tagKeys=["b", "never-there"])
    assert ra.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "a", "value": "one"}]
    with pytest.raises(ClientError) as exc:
        ra.tag_resource(resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"}
                                               for i in range(50)])
    assert error_of(exc)[:2] == ("TooManyTagsException", 400)
    assert len(ra.list_tags_for_resource(resourceArn=arn)["tags"]) == 1
    with pytest.raises(ClientError) as exc:
        ra.tag_resource(resourceArn=arn, tags=[{"key": "aws:x", "value": "v"}])
    assert error_of(exc)[:2] == ("ValidationException", 400)


def test_tags_on_unknown_or_foreign_resources(ra, anchor, server):
    missing = anchor["trustAnchorArn"][:-12] + "000000000000"
    for call in (lambda: ra.list_tags_for_resource(resourceArn=missing),
                 lambda: ra.tag_resource(resourceArn=missing, tags=[{"key": "a", "value": "b"}]),
                 lambda: ra.untag_resource(resourceArn=missing, tagKeys=["a"])):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        ra.list_tags_for_resource(resourceArn="not-an-arn")
    assert error_of(exc)[:2] == ("ValidationException", 400)
    stranger = server.client("rolesanywhere", server.new_account(), client_validation=False)
    with pytest.raises(ClientError) as exc:
        stranger.tag_resource(resourceArn=anchor["trustAnchorArn"],
                              tags=[{"key": "a", "value": "b"}])
    assert error_of(exc)[0] == "ResourceNotFoundException"
    assert ra.list_tags_for_resource(resourceArn=anchor["trustAnchorArn"])["tags"] == []


def test_subjects_are_empty_until_create_session(ra):
    assert ra.list_subjects()["subjects"] == []
    with pytest.raises(ClientError) as exc:
        ra.get_subject(subjectId="0ace5b12-24b9-427e-a483-c55884852fbf")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_pagination_walks_every_page_in_creation_order(ra, account):
    role = f"arn:aws:iam::{account.account_id}:role/r"
    names = [f"p{i:02d}" for i in range(23)]
    for name in names:
        ra.create_profile(name=name, roleArns=[role])
    first = ra.list_profiles(pageSize=10)
    assert [p["name"] for p in first["profiles"]] == names[:10] and first["nextToken"]
    seen = []
    for page in ra.get_paginator("list_profiles").paginate(pageSize=10):
        seen += [p["name"] for p in page["profiles"]]
    assert seen == names
    last = ra.list_profiles(pageSize=10, nextToken=ra.list_profiles(
        pageSize=10, nextToken=first["nextToken"])["nextToken"])
    assert len(last["profiles"]) == 3 and "nextToken" not in last
    assert len(ra.list_profiles()["profiles"]) == 23  # default page size 50


@pytest.mark.parametrize("page_size", [0, -1, 101])
def test_page_size_out_of_range_is_refused(ra, page_size):
    with pytest.raises(ClientError) as exc:
        ra.list_trust_anchors(pageSize=page_size)
    assert error_of(exc)[:2] == ("ValidationException", 400)


def test_tampered_or_foreign_token_is_refused(ra, account, server, pki):
    for i in range(3):
        ra.create_trust_anchor(name=f"t{i}", source=bundle_source(pki.root))
    token = ra.list_trust_anchors(pageSize=1)["nextToken"]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    for bad in (tampered, "garbage", token + "x"):
        with pytest.raises(ClientError) as exc:
            ra.list_trust_anchors(pageSize=1, nextToken=bad)
        assert error_of(exc)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError):  # a trust-anchor token does not page profiles
        ra.list_profiles(nextToken=token)
    other = server.client("rolesanywhere", server.new_account(), client_validation=False)
    with pytest.raises(ClientError):  # nor another account's listing
        other.list_trust_anchors(nextToken=token)


def test_accounts_and_regions_never_see_each_other(server, pki):
    a, b = server.new_account(), server.new_account()
    ca = server.client("rolesanywhere", a, client_validation=False)
    cb = server.client("rolesanywhere", b, client_validation=False)
    ca_west = server.client("rolesanywhere", a, region="us-west-2", client_validation=False)
    ta = ca.create_trust_anchor(name="mine", source=bundle_source(pki.root))["trustAnchor"]
    prof = ca.create_profile(name="mine", roleArns=[f"arn:aws:iam::{a.account_id}:role/r"],
                             aliasName="mine")["profile"]
    for client in (cb, ca_west):
        assert client.list_trust_anchors()["trustAnchors"] == []
        assert client.list_profiles()["profiles"] == []
        for ident in (ta["trustAnchorId"], ta["trustAnchorArn"]):
            with pytest.raises(ClientError) as exc:
                client.get_trust_anchor(trustAnchorId=ident)
            assert error_of(exc)[0] == "ResourceNotFoundException"
        for call in (client.get_profile, client.delete_profile, client.disable_profile):
            with pytest.raises(ClientError):
                call(profileId=prof["profileId"])
        with pytest.raises(ClientError):
            client.get_profile(profileId=prof["aliasArn"])
    assert ca.get_profile(profileId=prof["profileId"])["profile"]["enabled"] is True
    assert [t["trustAnchorId"] for t in ca.list_trust_anchors()["trustAnchors"]] == [
        ta["trustAnchorId"]]
