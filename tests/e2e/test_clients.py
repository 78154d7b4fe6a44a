"""Real clients other than boto3, unchanged: the AWS CLI and the AWS SDK for JavaScript."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

JS_DIR = Path(__file__).parent / "js"


def aws(server, account, *args: str, check: bool = True) -> subprocess.CompletedProcess:  # noqa: ANN001
    env = {**os.environ, **server.aws_env(account), "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_PAGER": ""}
    proc = subprocess.run([sys.executable, "-m", "awscli", *args, "--output", "json"],
                          capture_output=True, text=True, env=env, timeout=60)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_aws_cli_manages_the_control_plane(server, account, pki, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text(pki.root.cert_pem)
    ta = json.loads(aws(server, account, "rolesanywhere", "create-trust-anchor", "--name", "cli",
                        "--source", json.dumps({"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {
                            "x509CertificateData": ca.read_text()}})).stdout)
    ta_id = ta["trustAnchor"]["trustAnchorId"]
    listed = json.loads(aws(server, account, "rolesanywhere", "list-trust-anchors").stdout)
    assert [t["trustAnchorId"] for t in listed["trustAnchors"]] == [ta_id]
    role = f"arn:aws:iam::{account.account_id}:role/cli"
    prof = json.loads(aws(server, account, "rolesanywhere", "create-profile", "--name", "cli",
                          "--role-arns", role, "--duration-seconds", "1200").stdout)["profile"]
    mapped = json.loads(aws(server, account, "rolesanywhere", "put-attribute-mapping",
                            "--profile-id", prof["profileId"], "--certificate-field",
                            "x509Subject", "--mapping-rules", "specifier=CN",
                            "specifier=OU").stdout)
    subject = next(m for m in mapped["profile"]["attributeMappings"]
                   if m["certificateField"] == "x509Subject")
    assert subject["mappingRules"] == [{"specifier": "CN"}, {"specifier": "OU"}]
    aws(server, account, "rolesanywhere", "tag-resource", "--resource-arn",
        prof["profileArn"], "--tags", "key=env,value=test")
    tags = json.loads(aws(server, account, "rolesanywhere", "list-tags-for-resource",
                          "--resource-arn", prof["profileArn"]).stdout)
    assert tags["tags"] == [{"key": "env", "value": "test"}]
    missing = aws(server, account, "rolesanywhere", "get-profile", "--profile-id",
                  "0ace5b12-24b9-427e-a483-c55884852fbf", check=False)
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr
    aws(server, account, "rolesanywhere", "disable-trust-anchor", "--trust-anchor-id",
        ta["trustAnchor"]["trustAnchorArn"])
    got = json.loads(aws(server, account, "rolesanywhere", "get-trust-anchor",
                         "--trust-anchor-id", ta_id).stdout)
    assert got["trustAnchor"]["enabled"] is False


def test_aws_cli_imports_a_crl_from_a_file(server, account, pki, tmp_path):
    from datetime import datetime, timedelta, timezone

    from roleport.crypto import devpki

    from .conftest import bundle_source

    ra = server.client("rolesanywhere", account)
    ta = ra.create_trust_anchor(name="c", source=bundle_source(pki.root))["trustAnchor"]
    now = datetime.now(timezone.utc)
    crl = devpki.create_crl(pki.root, revoked=[(42, now)], next_update=now + timedelta(days=1))
    path = tmp_path / "crl.pem"
    path.write_text(crl.pem if isinstance(crl.pem, str) else crl.pem.decode())
    out = json.loads(aws(server, account, "rolesanywhere", "import-crl", "--name", "cli-crl",
                         "--crl-data", f"fileb://{path}", "--trust-anchor-arn",
                         ta["trustAnchorArn"]).stdout)
    assert out["crl"]["name"] == "cli-crl" and out["crl"]["enabled"] is True


def _node_ready() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (JS_DIR / "node_modules" / "@aws-sdk" / "client-rolesanywhere").exists():
        proc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                              cwd=JS_DIR, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            return f"npm install failed: {proc.stderr[-500:]}"
    return None


def test_aws_sdk_for_javascript_manages_the_control_plane(server, account, pki, tmp_path):
    problem = _node_ready()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    ca = tmp_path / "ca.pem"
    ca.write_text(pki.root.cert_pem)
    env = {**os.environ, **server.aws_env(account), "ROLEPORT_ACCOUNT_ID": account.account_id,
           "NODE_EXTRA_CA_CERTS": str(server.ca_bundle), "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    proc = subprocess.run(["node", "control_plane.mjs", str(ca)], cwd=JS_DIR, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["createdAtIsDate"] is True and out["viaArn"] is True
    assert out["profileNames"] == ["js-0", "js-1", "js-2"]
    assert out["trustAnchorCount"] == 1
    assert out["tags"] == [{"key": "sdk", "value": "js"}]
    assert out["notFound"]["name"] == "ResourceNotFoundException"
    assert out["notFound"]["status"] == 404
    assert out["validation"]["name"] == "ValidationException"
    assert "greater than or equal to 900" in out["validation"]["message"]
    assert out["deleted"] == "js-ca"
