"""The official aws_signing_helper's ``credential-process`` against a real Roleport over
HTTPS: EC P-256, P-384 and RSA-2048 leaves, every flag of the pinned version that works
with file keys on Linux, and the ``credential_process`` line of an AWS config file read by
boto3 and by the AWS CLI."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from roleport.client.provisioning import provision
from roleport.testing import DevPki, RoleportServer, RolesAnywhereSetup

from ..test_signing_helper_support import clean_env, python
from .support import credential_args, official_env, run

CREDENTIAL_KEYS = ["Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"]

CALLER_ARN = """
    import boto3
    print(boto3.Session(profile_name="official").client("sts").get_caller_identity()["Arn"])
"""


def caller_arn(server: RoleportServer, credentials: dict) -> str:
    """GetCallerIdentity on the server with credential_process output."""
    import boto3

    sts = boto3.client("sts", region_name=server.region, endpoint_url=server.endpoint,
                       verify=str(server.ca_bundle),
                       aws_access_key_id=credentials["AccessKeyId"],
                       aws_secret_access_key=credentials["SecretAccessKey"],
                       aws_session_token=credentials["SessionToken"])
    try:
        return sts.get_caller_identity()["Arn"]
    finally:
        sts.close()


def expiration(credentials: dict) -> datetime:
    return datetime.strptime(credentials["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=UTC)


@pytest.mark.parametrize(("key_type", "options"), [
    ("ec", {"curve": "secp256r1"}), ("ec", {"curve": "secp384r1"}),
    ("rsa", {"key_size": 2048})], ids=["ec-p256", "ec-p384", "rsa-2048"])
def test_credential_process_gives_working_credentials_for_each_key_type(
        aws_signing_helper: Path, setup: RolesAnywhereSetup, pki: DevPki, key_type: str,
        options: dict) -> None:
    certificate = pki.issue(f"official-{key_type}", key_type=key_type, **options)
    session_name = f"official-{key_type}-{options.get('curve', options.get('key_size'))}"
    args = credential_args(setup, certificate)
    assert "--intermediates" in args
    done = run(aws_signing_helper, "credential-process", *args, "--session-duration", "900",
               "--role-session-name", session_name, "--region", setup.region,
               env=official_env(setup))
    assert done.returncode == 0, done.stderr
    assert not done.stdout.endswith(b"\n")
    body = json.loads(done.stdout)
    assert list(body) == CREDENTIAL_KEYS
    assert body["Version"] == 1 and body["AccessKeyId"].startswith("ASIA")
    left = expiration(body) - datetime.now(UTC)
    assert timedelta(seconds=840) < left <= timedelta(seconds=900)
    assert caller_arn(setup.server, body) == (
        f"arn:aws:sts::{setup.account.account_id}:assumed-role/roleport-test/{session_name}")


def test_intermediates_complete_the_path_to_a_trust_anchor_of_the_root_alone(
        aws_signing_helper: Path, setup: RolesAnywhereSetup, pki: DevPki) -> None:
    clients = setup.server.clients(setup.account)
    done = provision(clients.rolesanywhere, clients.iam, ca_pem=pki.root.cert_pem,
                     name="official-root-only")
    root_only = RolesAnywhereSetup(setup.server, setup.account, done.trust_anchor_arn,
                                   done.profile_arn, done.role_arn, setup.client_certificate,
                                   pki)
    args = credential_args(root_only)
    with_chain = run(aws_signing_helper, "credential-process", *args,
                     env=official_env(setup))
    assert with_chain.returncode == 0, with_chain.stderr
    at = args.index("--intermediates")
    without = run(aws_signing_helper, "credential-process", *args[:at], *args[at + 2:],
                  env=official_env(setup))
    assert without.returncode == 1 and without.stdout == b""
    assert b"AccessDeniedException: Untrusted signing certificate" in without.stderr


def test_the_server_certificate_is_verified_unless_no_verify_ssl(
        aws_signing_helper: Path, setup: RolesAnywhereSetup) -> None:
    args = credential_args(setup)
    untrusted = run(aws_signing_helper, "credential-process", *args, env=clean_env())
    assert untrusted.returncode == 1 and untrusted.stdout == b""
    assert b"x509: certificate signed by unknown authority" in untrusted.stderr
    # v1.4.0 builds its own HTTP transport: AWS_CA_BUNDLE is not read (it is from 1.7.0)
    bundle_only = run(aws_signing_helper, "credential-process", *args,
                      env=clean_env(AWS_CA_BUNDLE=str(setup.server.ca_bundle)))
    assert bundle_only.returncode == 1
    insecure = run(aws_signing_helper, "credential-process", *args, "--no-verify-ssl",
                   env=clean_env())
    assert insecure.returncode == 0, insecure.stderr
    assert list(json.loads(insecure.stdout)) == CREDENTIAL_KEYS


def test_debug_prints_the_signed_request_and_the_response_before_the_json(
        aws_signing_helper: Path, setup: RolesAnywhereSetup) -> None:
    done = run(aws_signing_helper, "credential-process", *credential_args(setup), "--debug",
               env=official_env(setup))
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    serial = setup.client_certificate.certificate.serial_decimal
    assert "DEBUG: Request Roles Anywhere/CreateSession Details:" in out
    assert f"Authorization: AWS4-X509-ECDSA-SHA256 Credential={serial}/" in out
    assert "HTTP/1.1 201 Created" in out and "X-Amzn-Requestid: " in out
    # aws-sdk-go v1 logs to stdout: the JSON is the last line (unusable as credential_process)
    assert list(json.loads(out.splitlines()[-1])) == CREDENTIAL_KEYS
    assert b"attempting to use FileSystemSigner" in done.stderr


def test_with_proxy_and_a_proxy_in_the_environment_still_reach_a_loopback_server(
        aws_signing_helper: Path, setup: RolesAnywhereSetup) -> None:
    env = official_env(setup, HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    done = run(aws_signing_helper, "credential-process", *credential_args(setup),
               "--with-proxy", env=env)
    assert done.returncode == 0, done.stderr  # Go never proxies requests to loopback


def test_session_durations_the_profile_does_not_allow_are_capped_or_refused(
        aws_signing_helper: Path, setup: RolesAnywhereSetup) -> None:
    args = credential_args(setup)
    longer = run(aws_signing_helper, "credential-process", *args, "--session-duration", "7200",
                 env=official_env(setup))
    assert longer.returncode == 0, longer.stderr
    left = expiration(json.loads(longer.stdout)) - datetime.now(UTC)
    assert left <= timedelta(seconds=3600)  # the profile's durationSeconds
    too_long = run(aws_signing_helper, "credential-process", *args, "--session-duration",
                   "43201", env=official_env(setup))
    assert too_long.returncode == 1 and too_long.stdout == b""
    assert b"ValidationException" in too_long.stderr
    assert b"durationSeconds" in too_long.stderr


def test_a_signing_region_without_the_trust_anchor_is_refused(
        aws_signing_helper: Path, setup: RolesAnywhereSetup) -> None:
    done = run(aws_signing_helper, "credential-process", *credential_args(setup),
               "--region", "eu-west-1", env=official_env(setup))
    assert done.returncode == 1 and done.stdout == b""
    assert b"AccessDeniedException: Specified Trust Anchor wasn't found." in done.stderr


def test_key_sources_this_machine_lacks_fail_before_any_request(
        aws_signing_helper: Path, setup: RolesAnywhereSetup) -> None:
    arns = credential_args(setup)[4:]  # without --certificate/--private-key
    at = arns.index("--intermediates")
    arns = arns[:at] + arns[at + 2:]
    selector = run(aws_signing_helper, "credential-process", "--cert-selector",
                   "Key=x509Subject,Value=CN=roleport-test-client", *arns,
                   env=official_env(setup))
    assert selector.returncode == 1
    assert b"unable to use cert store signer on linux" in selector.stderr
    store = run(aws_signing_helper, "credential-process", "--system-store-name", "MY", *arns,
                env=official_env(setup))
    assert store.returncode == 1
    assert b"unable to use cert store signer on linux" in store.stderr
    for password in (["--no-tpm-key-password"], ["--tpm-key-password", "secret"]):
        tpm = run(aws_signing_helper, "credential-process", "--certificate",
                  str(setup.client_certificate.certificate_path), "--private-key",
                  "handle:0x81000001", *password, *arns, env=official_env(setup))
        assert tpm.returncode == 1 and tpm.stdout == b"", password


def test_credential_process_line_in_the_aws_config_works_for_boto3_and_the_aws_cli(
        aws_signing_helper: Path, setup: RolesAnywhereSetup, tmp_path: Path) -> None:
    command = shlex.join([str(aws_signing_helper), "credential-process",
                          *credential_args(setup), "--role-session-name", "from-config"])
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "config").write_text(
        f"[profile official]\ncredential_process = {command}\nregion = {setup.region}\n"
        f"endpoint_url = {setup.server.endpoint}\nca_bundle = {setup.server.ca_bundle}\n")
    env = official_env(setup, tmp_path)  # the helper inherits SSL_CERT_FILE from the SDK
    expected = f"arn:aws:sts::{setup.account.account_id}:assumed-role/roleport-test/from-config"
    by_boto3 = python(CALLER_ARN, env)
    assert by_boto3.returncode == 0, by_boto3.stderr
    assert by_boto3.stdout.strip() == expected
    aws = Path(sys.executable).with_name("aws")
    by_cli = subprocess.run([str(aws), "sts", "get-caller-identity", "--profile", "official",
                             "--query", "Arn", "--output", "text"], check=False,
                            capture_output=True, text=True, timeout=60, env=env,
                            stdin=subprocess.DEVNULL)
    assert by_cli.returncode == 0, by_cli.stderr
    assert by_cli.stdout.strip() == expected
