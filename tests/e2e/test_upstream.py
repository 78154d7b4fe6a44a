"""Upstream mode against moto's server: roles read from moto's IAM, credentials from moto's
STS AssumeRole, and those credentials read an object in moto's S3 (moto checks them: its
request authentication is switched on once the fixtures are in place)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from roleport.clock import SystemClock
from roleport.config import Settings
from roleport.errors import ServiceUnavailableError
from roleport.sts.errors import AssumeRoleDenied
from roleport.sts.issuer import AssumeRoleRequest, build_issuer
from roleport.testing import RoleportServer

from .test_iam import error_of

pytest.importorskip("moto", reason="upstream tests need moto[server] (pip install -e '.[test]')")

ACCOUNT = "123456789012"  # moto's default account, and Roleport's
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/workloads/reader"
ANCHOR = f"arn:aws:rolesanywhere:us-east-1:{ACCOUNT}:trust-anchor/ta"
ACTIONS = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
UPSTREAM_USER = f"arn:aws:iam::{ACCOUNT}:user/roleport"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Moto:
    endpoint: str
    upstream_key: tuple[str, str]

    def client(self, service: str, key: tuple[str, str] = ("testing", "testing"),
               **kw: object) -> object:
        return boto3.session.Session().client(
            service, endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=key[0], aws_secret_access_key=key[1],
            config=Config(retries={"max_attempts": 1}), **kw)


def _seed(moto: Moto) -> tuple[str, str]:
    """The upstream principal Roleport uses, a role for workloads, a bucket."""
    iam, s3 = moto.client("iam"), moto.client("s3")
    iam.create_user(UserName="roleport")
    key = iam.create_access_key(UserName="roleport")["AccessKey"]
    iam.put_user_policy(UserName="roleport", PolicyName="upstream", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["iam:GetRole", *ACTIONS], "Resource": "*"}]}))
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ACTIONS,
        # the service (checked by Roleport), Roleport's admins (its STS AssumeRole) and
        # Roleport's upstream principal (checked by the upstream)
        "Principal": {"Service": "rolesanywhere.amazonaws.com",
                      "AWS": [f"arn:aws:iam::{ACCOUNT}:root", UPSTREAM_USER]},
        "Condition": {"StringEqualsIfExists": {"aws:PrincipalTag/x509Subject/OU": "data"}}}]}
    iam.create_role(RoleName="reader", Path="/workloads/", MaxSessionDuration=7200,
                    AssumeRolePolicyDocument=json.dumps(trust))
    # Reads are checked with GetObject: moto >= 5.2 authorises ListObjects(V2) as the
    # operation name (s3:ListObjectsV2), not as AWS does (s3:ListBucket), while GetObject is
    # s3:GetObject on the object's ARN in both.
    iam.put_role_policy(RoleName="reader", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"}]}))
    iam.create_role(RoleName="service-only", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"Service": "ec2.amazonaws.com"}}]}))
    for bucket in ("data", "secret"):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hi")
    return key["AccessKeyId"], key["SecretAccessKey"]


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        server = Moto(endpoint, ("", ""))
        server.upstream_key = _seed(server)
        # from now on moto authenticates and authorises every request
        urllib.request.urlopen(urllib.request.Request(
            endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
            headers={"Content-Type": "text/plain"}), timeout=5).close()
        yield server
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def upstream_roleport(moto: Moto) -> Iterator[RoleportServer]:
    env = {"AWS_ACCESS_KEY_ID": moto.upstream_key[0],
           "AWS_SECRET_ACCESS_KEY": moto.upstream_key[1], "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    with RoleportServer(http=True, env=env,
                        extra_args=["--upstream-endpoint", moto.endpoint]) as server:
        yield server


def _settings(moto: Moto, endpoint: str | None = None) -> Settings:
    return Settings(upstream_endpoint=endpoint or moto.endpoint, upstream_timeout_seconds=2)


def _request(**changes) -> AssumeRoleRequest:
    """What CreateSession asks for a certificate with OU=data."""
    base = {"account_id": ACCOUNT, "role_arn": ROLE_ARN, "role_session_name": "0a1b2c",
            "duration_seconds": 3600, "source_identity": "CN=reader-1",
            "session_tags": [("x509Subject/CN", "reader-1"), ("x509Subject/OU", "data")],
            "session_policy": None, "policy_arns": [],
            "context": {"aws:SourceArn": ANCHOR, "aws:SourceAccount": ACCOUNT,
                        "aws:PrincipalTag/x509Subject/CN": "reader-1",
                        "aws:PrincipalTag/x509Subject/OU": "data"}}
    base.update(changes)
    return AssumeRoleRequest(**base)


def _upstream_env(moto: Moto, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto.upstream_key[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto.upstream_key[1])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def test_sts_assume_role_through_roleport_gives_credentials_moto_s3_accepts(
        moto: Moto, upstream_roleport: RoleportServer):
    sts = upstream_roleport.client("sts")
    out = sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="through-roleport",
                          DurationSeconds=1800, SourceIdentity="reader-1",
                          Tags=[{"Key": "team", "Value": "data"}])
    assert out["AssumedRoleUser"]["Arn"] == \
        f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/through-roleport"
    creds = out["Credentials"]
    s3 = moto.client("s3", (creds["AccessKeyId"], creds["SecretAccessKey"]),
                     aws_session_token=creds["SessionToken"])
    assert s3.get_object(Bucket="data", Key="hello.txt")["Body"].read() == b"hi"
    with pytest.raises(ClientError) as exc:  # moto enforces the role's policy
        s3.get_object(Bucket="secret", Key="hello.txt")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    # and moto knows who they are
    me = moto.client("sts", (creds["AccessKeyId"], creds["SecretAccessKey"]),
                     aws_session_token=creds["SessionToken"]).get_caller_identity()
    assert me["Arn"].endswith(":assumed-role/reader/through-roleport")


def test_upstream_refusals_are_access_denied_never_500(upstream_roleport: RoleportServer):
    sts = upstream_roleport.client("sts")
    cases = [
        (f"arn:aws:iam::{ACCOUNT}:role/ghost", "does not exist upstream"),
        (f"arn:aws:iam::{ACCOUNT}:role/reader", "does not exist upstream"),  # path differs
        (f"arn:aws:iam::{ACCOUNT}:role/service-only", "does not allow sts:AssumeRole"),
    ]
    for arn, needle in cases:
        with pytest.raises(ClientError) as exc:
            sts.assume_role(RoleArn=arn, RoleSessionName="nope")
        code, status, message = error_of(exc)
        assert (code, status) == ("AccessDenied", 403)
        assert needle in message
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="long", DurationSeconds=7201)
    assert error_of(exc)[:2] == ("ValidationError", 400)


def test_the_issuer_create_session_uses_evaluates_locally_then_asks_the_upstream(
        moto: Moto, monkeypatch: pytest.MonkeyPatch):
    _upstream_env(moto, monkeypatch)
    issuer = build_issuer(_settings(moto), None, None, SystemClock())  # type: ignore[arg-type]
    issued = issuer.assume_role(_request())
    assert issued.assumed_role_arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/0a1b2c"
    assert issued.source_identity == "CN=reader-1"
    s3 = moto.client("s3", (issued.access_key_id, issued.secret_access_key),
                     aws_session_token=issued.session_token)
    assert s3.get_object(Bucket="data", Key="hello.txt")["Body"].read() == b"hi"
    with pytest.raises(ClientError):
        s3.get_object(Bucket="secret", Key="hello.txt")
    # the trust policy's condition on the certificate's OU is evaluated by Roleport
    other = _request(context={"aws:SourceArn": ANCHOR, "aws:PrincipalTag/x509Subject/OU": "ops"},
                     session_tags=[("x509Subject/OU", "ops")])
    with pytest.raises(AssumeRoleDenied) as exc:
        issuer.assume_role(other)
    assert exc.value.message.startswith(f"Unable to assume role for {ROLE_ARN}")


def test_an_unreachable_upstream_is_503_with_retry_information(
        moto: Moto, monkeypatch: pytest.MonkeyPatch):
    _upstream_env(moto, monkeypatch)
    issuer = build_issuer(_settings(moto, f"http://127.0.0.1:{_free_port()}"), None, None,
                          SystemClock())  # type: ignore[arg-type]
    with pytest.raises(ServiceUnavailableError) as exc:
        issuer.assume_role(_request())
    assert exc.value.status == 503 and exc.value.retry_after_seconds
    # and through the wire, from a server whose upstream is down
    env = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    with RoleportServer(http=True, env=env, extra_args=[
            "--upstream-endpoint", f"http://127.0.0.1:{_free_port()}",
            "--upstream-timeout", "1"]) as down:
        with pytest.raises(ClientError) as err:
            down.client("sts").assume_role(RoleArn=ROLE_ARN, RoleSessionName="down")
        code, status, message = error_of(err)
        assert (code, status) == ("ServiceUnavailable", 503)  # STS is a query API
        assert "Retry shortly" in message
        assert err.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"]
