"""STS through boto3 against a real server: GetCallerIdentity for admin keys and for
minted credentials, AssumeRole and its errors, expired and tampered tokens, presigned
GetCallerIdentity (the aws-iam-authenticator pattern)."""

from __future__ import annotations

import base64
import json
import os
import re
import ssl
import urllib.request
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from roleport.config import Settings
from roleport.server.bootstrap import ensure_keyring
from roleport.sts.credentials import SessionCredentials

from .test_iam import error_of


def trust_for(account_id: str, actions=("sts:AssumeRole",)) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
        "Action": list(actions)}]})


@pytest.fixture()
def sts(server, account):
    return server.client("sts", account)


@pytest.fixture()
def role(server, account):
    iam = server.client("iam", account)
    return iam.create_role(RoleName="app", Path="/team/", MaxSessionDuration=7200,
                           AssumeRolePolicyDocument=trust_for(
                               account.account_id,
                               ("sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity")),
                           )["Role"]


def client_with(server, service: str, creds: dict, **kw):
    return boto3.session.Session().client(
        service, region_name="us-east-1", endpoint_url=server.endpoint,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], verify=str(server.ca_bundle),
        config=Config(retries={"max_attempts": 1}), **kw)


def test_get_caller_identity_with_admin_keys(sts, account):
    me = sts.get_caller_identity()
    assert (me["Account"], me["Arn"], me["UserId"]) == (
        account.account_id, f"arn:aws:iam::{account.account_id}:root", account.account_id)


def test_assume_role_mints_aws_shaped_credentials_that_identify_the_session(server, sts, role,
                                                                             account):
    before = datetime.now(UTC)
    out = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="alice", DurationSeconds=1800,
                          SourceIdentity="alice", Tags=[{"Key": "team", "Value": "blue"}])
    creds = out["Credentials"]
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", creds["AccessKeyId"])
    assert len(creds["SecretAccessKey"]) == 40 and creds["SessionToken"]
    expected = before + timedelta(seconds=1800)
    assert abs((creds["Expiration"] - expected).total_seconds()) < 5
    session_arn = f"arn:aws:sts::{account.account_id}:assumed-role/app/alice"
    assert out["AssumedRoleUser"] == {"AssumedRoleId": f"{role['RoleId']}:alice",
                                      "Arn": session_arn}
    assert out["SourceIdentity"] == "alice" and 1 <= out["PackedPolicySize"] <= 100
    me = client_with(server, "sts", creds).get_caller_identity()
    assert (me["Account"], me["Arn"], me["UserId"]) == (
        account.account_id, session_arn, f"{role['RoleId']}:alice")


@pytest.mark.parametrize("changes,code,status,needle", [
    ({"RoleArn": "arn:aws:iam::{account}:role/team/ghost"}, "AccessDenied", 403,
     "is not authorized to perform: sts:AssumeRole"),
    ({"RoleArn": "arn:aws:iam::{account}:role/app"}, "AccessDenied", 403,  # path differs
     "is not authorized to perform: sts:AssumeRole"),
    ({"DurationSeconds": 7201}, "ValidationError", 400,
     "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."),
    ({"Policy": '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}'},
     "MalformedPolicyDocument", 400, ""),
    ({"Tags": "50 random-looking tags"},
     "PackedPolicyTooLarge", 400, "Packed policy consumes"),
])
def test_assume_role_errors(sts, role, account, changes, code, status, needle):
    params = {"RoleArn": role["Arn"], "RoleSessionName": "session", **changes}
    params["RoleArn"] = params["RoleArn"].format(account=account.account_id)
    if "Tags" in changes:  # random-looking values do not compress
        params["Tags"] = [{"Key": f"k{i}", "Value": os.urandom(128).hex()[:250]}
                          for i in range(50)]
    with pytest.raises(ClientError) as exc:
        sts.assume_role(**params)
    got = error_of(exc)
    assert got[:2] == (code, status)
    assert needle in got[2]


def test_the_trust_policy_must_allow_tag_session_when_tags_are_passed(server, sts, account):
    iam = server.client("iam", account)
    arn = iam.create_role(RoleName="plain", AssumeRolePolicyDocument=trust_for(
        account.account_id))["Role"]["Arn"]
    sts.assume_role(RoleArn=arn, RoleSessionName="ok")
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=arn, RoleSessionName="tagged", Tags=[{"Key": "a", "Value": "b"}])
    code, status, message = error_of(exc)
    assert (code, status) == ("AccessDenied", 403)
    assert "does not allow sts:TagSession" in message


def test_a_role_trusting_only_roles_anywhere_cannot_be_assumed_with_admin_keys(server, sts,
                                                                             account):
    iam = server.client("iam", account)
    doc = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "rolesanywhere.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName="ra", AssumeRolePolicyDocument=json.dumps(doc))["Role"]["Arn"]
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=arn, RoleSessionName="ss")
    assert error_of(exc)[:2] == ("AccessDenied", 403)


def _forge(server, *, issued_at: datetime, duration: int = 900):
    """Mint with the server's own keys (as a replica would), at a chosen time."""
    keyring = ensure_keyring(Settings(data_dir=server.data_dir))

    class At:
        def now(self) -> datetime:
            return issued_at

    account = server.new_account()
    return account, SessionCredentials(keyring, At()).mint(
        account_id=account.account_id, role_arn=f"arn:aws:iam::{account.account_id}:role/r",
        role_id="AROAEXAMPLEEXAMPLEEXA", session_name="forged", duration_seconds=duration)


def _creds(minted) -> dict:
    return {"AccessKeyId": minted.access_key_id, "SecretAccessKey": minted.secret_access_key,
            "SessionToken": minted.session_token}


def test_credentials_minted_by_a_replica_with_the_same_key_are_accepted(server):
    account, minted = _forge(server, issued_at=datetime.now(UTC))
    me = client_with(server, "sts", _creds(minted)).get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{account.account_id}:assumed-role/r/forged"


def test_expired_credentials_get_expired_token(server):
    _, minted = _forge(server, issued_at=datetime.now(UTC) - timedelta(seconds=901))
    with pytest.raises(ClientError) as exc:
        client_with(server, "sts", _creds(minted)).get_caller_identity()
    assert error_of(exc) == ("ExpiredToken", 403,
                             "The security token included in the request is expired")


def test_tampered_token_wrong_secret_and_missing_token_get_403_without_content(server, sts,
                                                                               role):
    creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="alice")["Credentials"]
    token = creds["SessionToken"]
    middle = len(token) // 2
    flipped = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    cases = [
        ({**creds, "SessionToken": flipped}, "InvalidClientTokenId"),
        ({**creds, "SessionToken": "not-a-token"}, "InvalidClientTokenId"),
        ({**creds, "SecretAccessKey": "x" * 40}, "SignatureDoesNotMatch"),
    ]
    for bad, code in cases:
        with pytest.raises(ClientError) as exc:
            client_with(server, "sts", bad).get_caller_identity()
        got_code, status, message = error_of(exc)
        assert (got_code, status) == (code, 403)
        for secret in ("alice", "app", role["RoleId"], role["Arn"]):
            assert secret not in message
    no_token = boto3.session.Session().client(
        "sts", region_name="us-east-1", endpoint_url=server.endpoint,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        verify=str(server.ca_bundle))
    with pytest.raises(ClientError) as exc:
        no_token.get_caller_identity()
    assert error_of(exc)[:2] == ("InvalidClientTokenId", 403)


def test_minted_credentials_cannot_manage_iam_or_the_control_plane(server, sts, role):
    creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="alice")["Credentials"]
    with pytest.raises(ClientError) as exc:
        client_with(server, "iam", creds).list_roles()
    code, status, message = error_of(exc)
    assert (code, status) == ("AccessDenied", 403) and "assumed-role/app/alice" in message
    with pytest.raises(ClientError) as exc:
        client_with(server, "rolesanywhere", creds).list_trust_anchors()
    assert error_of(exc)[:2] == ("AccessDeniedException", 403)
    with pytest.raises(ClientError) as exc:  # no role chaining
        client_with(server, "sts", creds).assume_role(RoleArn=role["Arn"], RoleSessionName="bb")
    assert error_of(exc)[:2] == ("AccessDenied", 403)


def test_a_presigned_get_caller_identity_identifies_the_session(server, sts, role, account):
    """The aws-iam-authenticator pattern: the client presigns GetCallerIdentity with an
    extra signed header; the verifying service replays the URL to learn who it is."""
    creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="kubelet")["Credentials"]
    client = client_with(server, "sts", creds)

    def add_cluster_header(request, **_):
        request.headers["x-k8s-aws-id"] = "my-cluster"

    client.meta.events.register("before-sign.sts.GetCallerIdentity", add_cluster_header)
    url = client.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    token = "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")

    # -- the verifying side: decode the token and replay the request -----------------------
    replay = base64.urlsafe_b64decode(token[len("k8s-aws-v1."):] + "==").decode()
    assert "X-Amz-Security-Token=" in replay and "x-k8s-aws-id" in replay
    context = ssl.create_default_context(cafile=str(server.ca_bundle))

    def get(headers: dict) -> tuple[int, bytes]:
        req = urllib.request.Request(replay, headers=headers)
        try:
            with urllib.request.urlopen(req, context=context, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    status, body = get({"x-k8s-aws-id": "my-cluster"})
    assert status == 200, body
    ns = {"s": "https://sts.amazonaws.com/doc/2011-06-15/"}
    arn = ElementTree.fromstring(body).find("s:GetCallerIdentityResult/s:Arn", ns)
    assert arn is not None
    assert arn.text == f"arn:aws:sts::{account.account_id}:assumed-role/app/kubelet"
    status, _ = get({"x-k8s-aws-id": "another-cluster"})  # the header is signed
    assert status == 403
