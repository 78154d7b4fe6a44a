"""The official aws_signing_helper's ``serve`` (IMDSv2, read by botocore's IMDS provider)
and ``update`` (the shared credentials file, written and refreshed) against a real
Roleport."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

from roleport.testing import RolesAnywhereSetup

from ..test_signing_helper_support import CALLER_IDENTITY, Background, python
from .support import credential_args, official_env, run, sdk_env

IMDS_KEYS = {"AccessKeyId", "SecretAccessKey", "Token", "Code", "Type", "Expiration",
             "LastUpdated"}


def imds(url: str, path: str, *, method: str = "GET",
         headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url + path, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def token(url: str, ttl: str = "60") -> str:
    status, headers, body = imds(url, "latest/api/token", method="PUT",
                                 headers={"x-aws-ec2-metadata-token-ttl-seconds": ttl})
    assert status == 200 and headers["X-Aws-Ec2-Metadata-Token-Ttl-Seconds"] == ttl
    return body.decode()


def start_serve(binary: Path, setup: RolesAnywhereSetup, tmp_path: Path,
                *args: str) -> tuple[Background, str]:
    run_ = Background("serve", *args, "--port", "0", "--hop-limit", "1",
                      env=official_env(setup, tmp_path), program=[str(binary)])
    line = run_.wait_for("export AWS_EC2_METADATA_SERVICE_ENDPOINT=")
    return run_, line.split("=", 1)[1]


def test_serve_answers_the_imdsv2_token_flow_and_botocores_imds_provider(
        aws_signing_helper: Path, setup: RolesAnywhereSetup, tmp_path: Path) -> None:
    serve, url = start_serve(aws_signing_helper, setup, tmp_path, *credential_args(setup))
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url)
        assert serve.wait_for("Local server started on port: ")
        assert imds(url, "latest/meta-data/iam/security-credentials/")[0] == 401  # no IMDSv1
        forwarded = imds(url, "latest/api/token", method="PUT",
                         headers={"X-Forwarded-For": "10.0.0.1"})
        assert forwarded[0] == 400
        tok = token(url)
        assert len(tok) == 100
        auth = {"x-aws-ec2-metadata-token": tok}
        status, _, role = imds(url, "latest/meta-data/iam/security-credentials/", headers=auth)
        assert (status, role) == (200, b"roleport-test")
        status, _, body = imds(url, "latest/meta-data/iam/security-credentials/roleport-test",
                               headers=auth)
        assert status == 200
        document = json.loads(body)
        assert set(document) == IMDS_KEYS
        assert document["Code"] == "Success" and document["Type"] == "AWS-HMAC"
        assert document["AccessKeyId"].startswith("ASIA") and document["Token"]

        by_imds = python(CALLER_IDENTITY,
                         sdk_env(setup, tmp_path, AWS_EC2_METADATA_SERVICE_ENDPOINT=url))
        assert by_imds.returncode == 0, by_imds.stderr
        assert by_imds.stdout.startswith(
            f"arn:aws:sts::{setup.account.account_id}:assumed-role/roleport-test/")
    finally:
        serve.stop()


def test_serve_logs_the_refusal_and_serves_no_usable_credentials(
        aws_signing_helper: Path, setup: RolesAnywhereSetup, tmp_path: Path) -> None:
    args = credential_args(setup)
    at = args.index("--role-arn")
    args[at + 1] = f"arn:aws:iam::{setup.account.account_id}:role/not-in-profile"
    serve, url = start_serve(aws_signing_helper, setup, tmp_path, *args)
    try:
        auth = {"x-aws-ec2-metadata-token": token(url)}
        status, _, body = imds(url, "latest/meta-data/iam/security-credentials/not-in-profile",
                               headers=auth)
        assert status == 200 and json.loads(body)["AccessKeyId"] == ""  # the helper's way
        assert "Requested Role isn't one of those listed in the Profile." in serve.wait_for(
            "Error generating credentials: AccessDeniedException")
    finally:
        serve.stop()


EXISTING = """[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = default-secret

[official]
aws_access_key_id = OLD
aws_secret_access_key = OLD
"""


def keys_of(text: str, profile: str) -> dict[str, list[str]]:
    section, found = None, {}
    for line in text.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif section == profile and " = " in line:
            key, value = line.split(" = ", 1)
            found.setdefault(key, []).append(value)
    return found


def test_update_once_writes_then_refreshes_one_profile_that_boto3_uses(
        aws_signing_helper: Path, setup: RolesAnywhereSetup, tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text(EXISTING)
    env = official_env(setup, tmp_path, AWS_SHARED_CREDENTIALS_FILE=str(path))
    args = ["update", *credential_args(setup), "--profile", "official", "--once"]
    first = run(aws_signing_helper, *args, env=env)
    assert first.returncode == 0, first.stderr
    text = path.read_text()
    assert text.startswith("[default]\naws_access_key_id = AKIADEFAULT\n"
                           "aws_secret_access_key = default-secret\n\n[official]\n")
    written = keys_of(text, "official")
    assert sorted(written) == ["aws_access_key_id", "aws_secret_access_key",
                               "aws_session_token"]
    assert written["aws_access_key_id"][0].startswith("ASIA")

    used = python(CALLER_IDENTITY, sdk_env(setup, tmp_path, AWS_PROFILE="official",
                                           AWS_SHARED_CREDENTIALS_FILE=str(path)))
    assert used.returncode == 0, used.stderr
    assert used.stdout.startswith(
        f"arn:aws:sts::{setup.account.account_id}:assumed-role/roleport-test/")

    second = run(aws_signing_helper, *args, env=env)
    assert second.returncode == 0, second.stderr
    refreshed = keys_of(path.read_text(), "official")
    assert all(len(values) == 1 for values in refreshed.values())
    assert refreshed["aws_access_key_id"] != written["aws_access_key_id"]
    assert keys_of(path.read_text(), "default")["aws_access_key_id"] == ["AKIADEFAULT"]


def test_update_keeps_running_and_schedules_the_refresh_five_minutes_before_expiry(
        aws_signing_helper: Path, setup: RolesAnywhereSetup, tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    env = official_env(setup, tmp_path, AWS_SHARED_CREDENTIALS_FILE=str(path))
    started = datetime.now(UTC)
    update = Background("update", *credential_args(setup), "--session-duration", "900",
                        env=env, program=[str(aws_signing_helper)])
    try:
        line = update.wait_for("Credentials will be refreshed at ")
        assert update.process.poll() is None  # still running, waiting to refresh
    finally:
        update.stop()
    when = re.search(r"refreshed at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", line)
    assert when, line
    at = datetime.strptime(when.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert timedelta(seconds=540) < at - started <= timedelta(seconds=601)
    assert keys_of(path.read_text(), "default")["aws_access_key_id"][0].startswith("ASIA")


def test_update_stops_with_exit_1_when_roleport_refuses(
        aws_signing_helper: Path, setup: RolesAnywhereSetup, tmp_path: Path) -> None:
    args = credential_args(setup)
    args[args.index("--role-arn") + 1] = f"arn:aws:iam::{setup.account.account_id}:role/other"
    path = tmp_path / "credentials"
    path.write_text(EXISTING)
    done = run(aws_signing_helper, "update", *args,  # no --once: the loop dies too
               env=official_env(setup, tmp_path, AWS_SHARED_CREDENTIALS_FILE=str(path)))
    assert done.returncode == 1
    assert b"AccessDeniedException: Requested Role isn't one of those listed in the Profile." \
        in done.stderr
    assert path.read_text() == EXISTING
