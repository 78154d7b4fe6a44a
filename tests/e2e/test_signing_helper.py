"""roleport-signing-helper through its real entry point, against a real server over
HTTPS: credential-process read by botocore's credential_process provider, serve read by
botocore's IMDS and container providers, update on an existing credentials file,
PKCS#12 and encrypted keys, refresh failures, and an exit code for each kind of mistake."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from roleport.crypto.signatures import verify_request_signature
from roleport.testing import DevPki, RoleportServer, RolesAnywhereSetup

from .test_signing_helper_support import CALLER_IDENTITY, Background, clean_env, helper, python


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevPki]:
    dev = DevPki(tmp_path_factory.mktemp("helper-pki"))
    yield dev
    dev.close()


@pytest.fixture(scope="module")
def setup(server: RoleportServer, pki: DevPki) -> RolesAnywhereSetup:
    return server.setup_roles_anywhere(pki=pki, duration_seconds=900)


def with_arg(args: list[str], flag: str, value: str | None) -> list[str]:
    """``args`` with ``flag``'s value replaced (or the flag removed when ``value`` is None)."""
    out = list(args)
    at = out.index(flag)
    if value is None:
        del out[at:at + 2]
    else:
        out[at + 1] = value
    return out


def assumed_role_prefix(setup: RolesAnywhereSetup) -> str:
    return f"arn:aws:sts::{setup.account.account_id}:assumed-role/roleport-test/"


def aws_config(home: Path, setup: RolesAnywhereSetup, profile: str, command: str) -> None:
    folder = home / ".aws"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config").write_text(
        f"[profile {profile}]\ncredential_process = {command}\nregion = {setup.region}\n"
        f"endpoint_url = {setup.server.endpoint}\nca_bundle = {setup.server.ca_bundle}\n")


# -- credential-process -------------------------------------------------------------------


def test_credential_process_output_works_through_botocores_credential_process(
        setup: RolesAnywhereSetup, tmp_path: Path) -> None:
    raw = helper("credential-process", *setup.helper_args())
    assert raw.returncode == 0, raw.stderr
    assert not raw.stdout.endswith("\n")  # as the Go helper: compact, no newline
    body = json.loads(raw.stdout)
    assert list(body) == ["Version", "AccessKeyId", "SecretAccessKey", "SessionToken",
                          "Expiration"]
    assert body["Version"] == 1 and body["AccessKeyId"].startswith("ASIA")

    aws_config(tmp_path, setup, "ra", setup.credential_process())
    result = python(CALLER_IDENTITY + "\n", clean_env(tmp_path), timeout=60)
    assert result.returncode != 0  # no default profile: nothing to sign with
    result = python(CALLER_IDENTITY.replace("sys.argv[1]", "'ra'").replace(
        "len(sys.argv) > 1", "True"), clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(assumed_role_prefix(setup))


def test_pkcs12_bundle_with_password_from_the_environment(setup: RolesAnywhereSetup,
                                                          pki: DevPki) -> None:
    cert = pki.issue("p12-client", pkcs12=True, password="bundle-pw")
    args = with_arg(with_arg(setup.helper_args(), "--certificate", str(cert.pkcs12_path)),
                    "--private-key", None)
    args = with_arg(args, "--intermediates", None)
    refused = helper("credential-process", *args)
    assert refused.returncode == 3 and "ROLEPORT_PKCS12_PASSWORD" in refused.stderr
    done = helper("credential-process", *args,
                  env=clean_env(ROLEPORT_PKCS12_PASSWORD="bundle-pw"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"].startswith("ASIA")


def test_encrypted_pkcs8_key_with_flag_or_environment(setup: RolesAnywhereSetup,
                                                      pki: DevPki) -> None:
    cert = pki.issue("encrypted-client", key_type="rsa", password="key-pw")
    args = setup.helper_args(cert)
    no_password = helper("credential-process", *args)
    assert no_password.returncode == 3
    assert "--pkcs8-password or the ROLEPORT_PKCS8_PASSWORD" in no_password.stderr
    wrong = helper("credential-process", *args, "--pkcs8-password", "nope")
    assert wrong.returncode == 3 and "wrong passphrase" in wrong.stderr
    assert helper("credential-process", *args, "--pkcs8-password", "key-pw").returncode == 0
    assert helper("credential-process", *args,
                  env=clean_env(ROLEPORT_PKCS8_PASSWORD="key-pw")).returncode == 0


def test_ml_dsa_certificate(setup: RolesAnywhereSetup, pki: DevPki) -> None:
    cert = pki.issue("mldsa-client", key_type="mldsa")
    done = helper("credential-process", *setup.helper_args(cert))
    assert done.returncode == 0, done.stderr


def test_each_kind_of_mistake_has_its_exit_code_and_message(setup: RolesAnywhereSetup,
                                                            pki: DevPki) -> None:
    args = setup.helper_args()
    refused = helper("credential-process", *with_arg(
        args, "--role-arn", f"arn:aws:iam::{setup.account.account_id}:role/other"))
    assert refused.returncode == 4, refused.stderr
    assert "CreateSession refused (HTTP 403 AccessDeniedException, request id" in refused.stderr
    assert "Requested Role isn't one of those listed in the Profile" in refused.stderr
    assert refused.stdout == ""

    other = pki.issue("other")
    mismatch = helper("credential-process", *with_arg(args, "--certificate",
                                                      str(other.certificate_path)))
    assert mismatch.returncode == 3 and "does not match the certificate" in mismatch.stderr

    untrusted_tls = helper("credential-process", *with_arg(args, "--ca-bundle", None))
    assert untrusted_tls.returncode == 5
    assert "TLS failed" in untrusted_tls.stderr and "--ca-bundle" in untrusted_tls.stderr

    usage = helper("credential-process", "--role-arn", setup.role_arn)
    assert usage.returncode == 2 and "missing --certificate" in usage.stderr


def test_credential_process_cache_spares_create_session(setup: RolesAnywhereSetup,
                                                        tmp_path: Path) -> None:
    args = ["credential-process", *setup.helper_args(), "--cache", "--cache-dir",
            str(tmp_path / "cache")]
    first, second = helper(*args), helper(*args)
    assert first.returncode == second.returncode == 0
    assert json.loads(first.stdout) == json.loads(second.stdout)
    [cached] = [p for p in (tmp_path / "cache").iterdir() if p.suffix == ".json"]
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600


# -- diagnostics --------------------------------------------------------------------------


def test_sign_string_and_read_certificate_data(setup: RolesAnywhereSetup) -> None:
    from roleport.client.diagnostics import signing_test_string

    cert = setup.client_certificate
    signed = helper("sign-string", *cert.helper_args(), "--format", "text")
    assert signed.returncode == 0, signed.stderr
    verify_request_signature(cert.certificate, "AWS4-X509-ECDSA-SHA256",
                             signing_test_string(cert.certificate), signed.stdout, lenient=False)
    data = helper("read-certificate-data", "--certificate", str(cert.certificate_path))
    assert json.loads(data.stdout)["serialNumber"] == cert.certificate.serial_decimal
    assert helper("version").stdout.strip()


def test_installed_console_script_runs() -> None:
    import shutil
    import sys

    script = Path(sys.executable).with_name("roleport-signing-helper")
    found = str(script) if script.exists() else shutil.which("roleport-signing-helper")
    if not found:
        pytest.skip("roleport is not pip-installed here (make test installs it)")
    import subprocess

    done = subprocess.run([found, "version"], check=False, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.strip()


# -- update -------------------------------------------------------------------------------


EXISTING = """# managed by hand; keep this comment
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = default-secret

[roleport]
; this profile is refreshed by roleport-signing-helper
aws_access_key_id = OLD
region = {region}"""


def test_update_rewrites_one_profile_and_keeps_the_rest(setup: RolesAnywhereSetup,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text(EXISTING.format(region=setup.region))
    done = helper("update", *setup.helper_args(), "--credentials-file", str(path),
                  "--profile", "roleport", "--once")
    assert done.returncode == 0, done.stderr
    text = path.read_text()
    head = "# managed by hand; keep this comment\n[default]\naws_access_key_id = AKIADEFAULT\n" \
           "aws_secret_access_key = default-secret\n\n[roleport]\n; this profile is " \
           "refreshed by roleport-signing-helper\naws_access_key_id = ASIA"
    assert text.startswith(head)
    assert f"\nregion = {setup.region}\n" in text  # the Go helper drops this last line
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    env = clean_env(tmp_path, AWS_SHARED_CREDENTIALS_FILE=str(path),
                    AWS_ENDPOINT_URL=setup.server.endpoint,
                    AWS_CA_BUNDLE=str(setup.server.ca_bundle))
    result = python(CALLER_IDENTITY, {**env, "AWS_PROFILE": "roleport"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(assumed_role_prefix(setup))


def test_update_creates_a_private_aws_folder_and_keeps_refreshing(setup: RolesAnywhereSetup,
                                                                  tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    run = Background("update", *setup.helper_args(), "--refresh-ahead", "899.5",
                     env=clean_env(home))
    try:
        run.wait_for("Updated profile [default]")
        run.wait_for("Updated profile [default]", after=run.lines.index(
            run.wait_for("Updated profile [default]")) + 1)
    finally:
        assert run.stop() == 0
    assert stat.S_IMODE((home / ".aws").stat().st_mode) == 0o700
    assert stat.S_IMODE((home / ".aws" / "credentials").stat().st_mode) == 0o600


# -- serve --------------------------------------------------------------------------------


def start_serve(setup: RolesAnywhereSetup, tmp_path: Path, *extra: str) -> Background:
    return Background("serve", *setup.helper_args(), "--port", "0", *extra,
                      env=clean_env(tmp_path))


def exported(run: Background, name: str) -> str:
    return run.wait_for(f"export {name}=").split("=", 1)[1]


def test_serve_is_read_by_botocores_imds_and_container_providers(setup: RolesAnywhereSetup,
                                                                  tmp_path: Path) -> None:
    run = start_serve(setup, tmp_path, "--ecs")
    try:
        assert run.wait_for("Local server started on port: ")
        imds = exported(run, "AWS_EC2_METADATA_SERVICE_ENDPOINT")
        assert imds.startswith("http://127.0.0.1:") and imds.endswith("/")
        base = clean_env(tmp_path, AWS_ENDPOINT_URL=setup.server.endpoint,
                         AWS_CA_BUNDLE=str(setup.server.ca_bundle), AWS_DEFAULT_REGION=setup.region)
        by_imds = python(CALLER_IDENTITY, {**base, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds})
        assert by_imds.returncode == 0, by_imds.stderr
        assert by_imds.stdout.startswith(assumed_role_prefix(setup))
        full_uri = exported(run, "AWS_CONTAINER_CREDENTIALS_FULL_URI")
        token = exported(run, "AWS_CONTAINER_AUTHORIZATION_TOKEN")
        by_ecs = python(CALLER_IDENTITY, {**base, "AWS_CONTAINER_CREDENTIALS_FULL_URI": full_uri,
                                          "AWS_CONTAINER_AUTHORIZATION_TOKEN": token,
                                          "AWS_EC2_METADATA_DISABLED": "true"})
        assert by_ecs.returncode == 0, by_ecs.stderr
        assert by_ecs.stdout.startswith(assumed_role_prefix(setup))
    finally:
        assert run.stop() == 0


def imds_credentials(base_url: str, role: str = "roleport-test") -> dict:
    import urllib.request

    put = urllib.request.Request(base_url + "latest/api/token", method="PUT",
                                 headers={"x-aws-ec2-metadata-token-ttl-seconds": "60"})
    token = urllib.request.urlopen(put, timeout=5).read().decode()
    path = f"latest/meta-data/iam/security-credentials/{role}"
    get = urllib.request.Request(base_url + path, headers={"x-aws-ec2-metadata-token": token})
    return json.loads(urllib.request.urlopen(get, timeout=5).read())


def test_serve_keeps_the_last_good_credentials_while_refresh_fails_then_recovers(
        setup: RolesAnywhereSetup, tmp_path: Path) -> None:
    ra = setup.server.client("rolesanywhere", setup.account)
    profile_id = setup.profile_arn.rsplit("/", 1)[1]
    run = start_serve(setup, tmp_path, "--refresh-ahead", "899.5")
    try:
        url = exported(run, "AWS_EC2_METADATA_SERVICE_ENDPOINT")
        run.wait_for("credentials refreshed")
        ra.disable_profile(profileId=profile_id)
        failed = run.wait_for("refreshing credentials failed")
        assert "still serving the current ones" in failed
        served = imds_credentials(url)
        assert served["Code"] == "Success" and served["AccessKeyId"].startswith("ASIA")
        assert served["Token"] and served["SecretAccessKey"]
        refreshed = run.count("credentials refreshed")
        ra.enable_profile(profileId=profile_id)
        run.wait_for("credentials refreshed", after=len(run.lines))
        assert run.count("credentials refreshed") > refreshed
    finally:
        ra.enable_profile(profileId=profile_id)
        assert run.stop() == 0


def test_serve_without_any_credentials_answers_errors_never_empty_ones(
        setup: RolesAnywhereSetup, tmp_path: Path) -> None:
    args = with_arg(setup.helper_args(), "--role-arn",
                    f"arn:aws:iam::{setup.account.account_id}:role/not-in-profile")
    run = Background("serve", *args, "--port", "0", env=clean_env(tmp_path))
    try:
        url = exported(run, "AWS_EC2_METADATA_SERVICE_ENDPOINT")
        run.wait_for("obtaining credentials failed")
        doc = imds_credentials(url, "not-in-profile")
        assert doc["Code"] == "CredentialsUnavailableError" and "AccessKeyId" not in doc
        assert "Requested Role isn't one of those listed in the Profile" in doc["Message"]
        env = clean_env(tmp_path, AWS_ENDPOINT_URL=setup.server.endpoint,
                        AWS_CA_BUNDLE=str(setup.server.ca_bundle), AWS_DEFAULT_REGION=setup.region,
                        AWS_EC2_METADATA_SERVICE_ENDPOINT=url)
        result = python(CALLER_IDENTITY, env)
        assert result.returncode != 0 and "Unable to locate credentials" in result.stderr
    finally:
        assert run.stop() == 0


def test_serve_reports_a_busy_port(setup: RolesAnywhereSetup, tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = helper("serve", *setup.helper_args(), "--port", str(port))
    assert done.returncode == 6 and f"cannot listen on 127.0.0.1 port {port}" in done.stderr


def test_environment_variables_select_the_endpoint(setup: RolesAnywhereSetup) -> None:
    no_endpoint = with_arg(setup.helper_args(), "--endpoint", None)
    env = clean_env(AWS_ENDPOINT_URL_ROLESANYWHERE=setup.server.endpoint)
    done = helper("credential-process", *no_endpoint, env=env)
    assert done.returncode == 0, done.stderr
    assert os.environ.get("AWS_ENDPOINT_URL_ROLESANYWHERE") is None
