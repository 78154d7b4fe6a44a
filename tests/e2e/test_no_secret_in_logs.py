"""No secret in anything Roleport or its signing helper writes.

A representative workload (control plane, IAM, CreateSession through the signing helper's
credential-process and serve modes, STS with admin keys and with minted credentials,
failed authentications, upstream mode against moto) on servers logging at debug level;
then every line the servers and the helper wrote (stdout, stderr: the access log and the
server log go there) and every file of the data dirs other than the database and the
key files is searched for every secret of the run: admin secrets, minted secret keys and
session tokens, the upstream's secret key, private keys (each PEM body line and a
distinctive substring of the DER base64). Zero hits.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from botocore.exceptions import ClientError

from roleport.testing import DevPki, RoleportServer

from .test_signing_helper_support import HELPER, clean_env, helper
from .test_upstream import ROLE_ARN, Moto, moto  # noqa: F401 - moto is a fixture

#: data dir files that hold secrets by design (sealed or 0600), and the database
_KEY_FILES = re.compile(r"(^|/)(roleport\.db.*|[^/]*key[^/]*|admin-credentials\.json)$")


def _pem_needles(pem: str) -> list[str]:
    """The first base64 line of a PEM private key's body (it holds the private part: the
    rest of an EC key is its public point, which every certificate rightly shows), and the
    private numbers themselves in hex and base64."""
    body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        numbers = [key.private_numbers().private_value]
    elif isinstance(key, rsa.RSAPrivateKey):
        private = key.private_numbers()
        numbers = [private.d, private.p, private.q]
    else:  # pragma: no cover - the fixtures make EC and RSA keys
        raise AssertionError(type(key))
    out = [body[0]]
    for number in numbers:
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        out += [raw.hex(), base64.b64encode(raw).decode()[:-4]]
    return out


def _sent_elsewhere(server: RoleportServer) -> list[tuple[str, str]]:
    """(where, text) of everything the server wrote: its output and its data dir's files."""
    out = [("server output", "".join(server.output))]
    for path in sorted(server.data_dir.rglob("*")):
        relative = str(path.relative_to(server.data_dir))
        if path.is_file() and not _KEY_FILES.search(relative):
            out.append((f"data dir file {relative}", path.read_bytes().decode("latin-1")))
    return out


def _client(service: str, creds: dict[str, str], server: RoleportServer):  # noqa: ANN202
    return boto3.session.Session().client(
        service, region_name=server.region, endpoint_url=server.endpoint,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken") or creds.get("Token"),
        verify=str(server.ca_bundle) if server.ca_bundle else False,
        config=Config(retries={"max_attempts": 1}))


def test_no_secret_reaches_any_log_line_or_data_dir_file(tmp_path: Path, moto: Moto) -> None:
    secrets: dict[str, str] = {}
    texts: list[tuple[str, str]] = []
    pki = DevPki(tmp_path / "pki")
    with RoleportServer(extra_args=["--log-level", "debug"]) as server:
        admin = server.admin
        secrets["admin secret"] = admin.secret_access_key
        account = server.new_account()
        secrets["account secret"] = account.secret_access_key
        setup = server.setup_roles_anywhere(account, pki=pki)
        clients = server.clients(account)
        ra, iam = clients.rolesanywhere, clients.iam
        # control plane and IAM
        ra.tag_resource(resourceArn=setup.trust_anchor_arn,
                        tags=[{"key": "team", "value": "secrets"}])
        ra.import_crl(name="crl", crlData=pki.crl(), trustAnchorArn=setup.trust_anchor_arn)
        ra.list_trust_anchors()
        ra.list_subjects()
        iam.put_role_policy(RoleName=setup.role_arn.rsplit("/", 1)[1], PolicyName="p",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        # CreateSession through the signing helper: credential-process with --debug
        env = clean_env(tmp_path)
        done = helper("credential-process", *setup.helper_args(), "--debug", env=env)
        assert done.returncode == 0, done.stderr
        minted = json.loads(done.stdout)  # its stdout is the credentials, by contract
        texts.append(("helper credential-process stderr", done.stderr))
        # ... and serve (IMDSv2)
        serve = subprocess.Popen([*HELPER, "serve", *setup.helper_args(), "--port", "0"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=env, stdin=subprocess.DEVNULL, start_new_session=True)
        early: list[str] = []
        try:
            served = _imds_credentials(serve, early)
        finally:
            serve.terminate()
            serve_out, serve_err = serve.communicate(timeout=10)
        texts += [("helper serve stdout", serve_out),
                  ("helper serve stderr", "".join(early) + serve_err)]
        # STS: admin keys' AssumeRole, then the minted credentials at work
        trusted = iam.create_role(RoleName="sts-target", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"AWS": f"arn:aws:iam::{account.account_id}:root"}}]}))["Role"]
        assumed = server.client("sts", account).assume_role(
            RoleArn=trusted["Arn"], RoleSessionName="secrets")["Credentials"]
        for creds in (minted, served, assumed):
            _client("sts", creds, server).get_caller_identity()
            secrets[f"minted secret {creds['AccessKeyId']}"] = creds["SecretAccessKey"]
            secrets[f"session token {creds['AccessKeyId']}"] = creds["Token"] \
                if "Token" in creds else creds["SessionToken"]
        # failures: a wrong secret, a tampered session token
        with pytest.raises(ClientError):
            _client("sts", {**assumed, "SecretAccessKey": assumed["SecretAccessKey"][::-1]},
                    server).get_caller_identity()
        with pytest.raises(ClientError):
            _client("sts", {**assumed, "SessionToken": assumed["SessionToken"][:-4] + "AAAA"},
                    server).get_caller_identity()
        with pytest.raises(ClientError):
            _client("rolesanywhere", {"AccessKeyId": account.access_key_id,
                                      "SecretAccessKey": "not-the-secret"},
                    server).list_profiles()
        for name in ("root", "issuer"):
            ca = getattr(pki, name)
            for i, needle in enumerate(_pem_needles(ca.key_pem)):
                secrets[f"{name} CA private key ({i})"] = needle
        key_pem = setup.client_certificate.private_key_path.read_text()
        for i, needle in enumerate(_pem_needles(key_pem)):
            secrets[f"client private key ({i})"] = needle
        for key_file in (server.data_dir / "tls").glob("*key*"):
            for i, needle in enumerate(_pem_needles(key_file.read_text())):
                secrets[f"TLS private key {key_file.name} ({i})"] = needle
        server.stop()
        texts += _sent_elsewhere(server)

    # upstream mode: moto's STS mints, Roleport passes it on
    env = {"AWS_ACCESS_KEY_ID": moto.upstream_key[0],
           "AWS_SECRET_ACCESS_KEY": moto.upstream_key[1], "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    with RoleportServer(http=True, env=env, extra_args=[
            "--upstream-endpoint", moto.endpoint, "--log-level", "debug"]) as upstream:
        secrets["upstream secret"] = moto.upstream_key[1]
        secrets["upstream admin secret"] = upstream.admin.secret_access_key
        out = upstream.client("sts").assume_role(RoleArn=ROLE_ARN, RoleSessionName="up")
        secrets["upstream minted secret"] = out["Credentials"]["SecretAccessKey"]
        secrets["upstream session token"] = out["Credentials"]["SessionToken"]
        with pytest.raises(ClientError):
            upstream.client("sts").assume_role(RoleArn=ROLE_ARN.replace("reader", "ghost"),
                                               RoleSessionName="up")
        upstream.stop()
        texts += [(f"upstream {where}", text) for where, text in _sent_elsewhere(upstream)]

    assert len(secrets) > 20 and all(len(s) >= 16 for s in secrets.values())
    assert sum(len(t) for _, t in texts) > 10_000, "the workload wrote suspiciously little"
    assert any("CreateSession" in t for _, t in texts)  # the access log is among them
    hits = [f"{what} in {where}" for what, secret in secrets.items()
            for where, text in texts if secret in text]
    assert hits == []


def _imds_credentials(serve: subprocess.Popen[str], early: list[str]) -> dict[str, str]:
    assert serve.stderr is not None
    deadline = time.monotonic() + 30
    port = None
    while port is None and time.monotonic() < deadline:
        line = serve.stderr.readline()
        early.append(line)
        match = re.search(r"Local server started on port: (\d+)", line)
        if match:
            port = int(match.group(1))
        elif not line and serve.poll() is not None:
            raise AssertionError("the helper's serve mode stopped")
    assert port is not None
    base = f"http://127.0.0.1:{port}/"
    put = urllib.request.Request(base + "latest/api/token", method="PUT",
                                 headers={"x-aws-ec2-metadata-token-ttl-seconds": "60"})
    token = urllib.request.urlopen(put, timeout=10).read().decode()
    get = urllib.request.Request(base + "latest/meta-data/iam/security-credentials/",
                                 headers={"x-aws-ec2-metadata-token": token})
    role = urllib.request.urlopen(get, timeout=10).read().decode().split()[0]
    get = urllib.request.Request(base + f"latest/meta-data/iam/security-credentials/{role}",
                                 headers={"x-aws-ec2-metadata-token": token})
    return json.loads(urllib.request.urlopen(get, timeout=10).read())
