"""`roleport quickstart` end to end: against a fresh `roleport serve`, found from its data
dir alone or from the AWS environment variables; the profile it prints works from a
clean HOME through botocore's credential_process; running it again reuses everything."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from roleport.testing import RoleportServer

from .test_signing_helper_support import CALLER_IDENTITY, ROLEPORT, clean_env, python


@pytest.fixture(scope="module")
def fresh_server() -> Iterator[RoleportServer]:
    """A server of its own, as after `make run` (quickstart writes to its admin account)."""
    with RoleportServer() as srv:
        yield srv


def quickstart(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ROLEPORT, "quickstart", *args], check=False, capture_output=True, text=True,
                          timeout=120, env=env, cwd=cwd, stdin=subprocess.DEVNULL)


def test_quickstart_from_the_data_dir_to_working_credentials(fresh_server: RoleportServer,
                                                             tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    args = ["--data-dir", str(fresh_server.data_dir), "--write-config"]
    first = quickstart(*args, env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    assert f"Roleport at {fresh_server.endpoint}" in out
    for what in ("CA", "trust anchor", "role", "profile"):
        assert re.search(rf"^  {what} .*\(created\)$", out, re.MULTILINE), (what, out)
    assert re.search(r"^  credentials   ASIA\w+, valid until .*: arn:aws:sts::123456789012:"
                     r"assumed-role/roleport-quickstart/", out, re.MULTILINE), out
    assert "[profile roleport]\ncredential_process = " in out
    assert (tmp_path / "pki" / "ca.pem").exists()

    config = (home / ".aws" / "config").read_text()
    assert config.startswith("[profile roleport]\ncredential_process = ")
    assert " credential-process --certificate " in config.splitlines()[1]
    # the profile, from a clean HOME: botocore runs the helper through credential_process
    result = python(CALLER_IDENTITY, {**env, "AWS_PROFILE": "roleport"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("arn:aws:sts::123456789012:assumed-role/roleport-quickstart/")

    again = quickstart(*args, env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    for what in ("CA", "trust anchor", "role", "profile", "certificate"):
        assert re.search(rf"^  {what} .*\(reused\)$", again.stdout, re.MULTILINE), (what, again.stdout)
    assert "already has [profile roleport]" in again.stdout


def test_quickstart_finds_the_server_from_the_aws_environment(fresh_server: RoleportServer,
                                                              tmp_path: Path) -> None:
    account = fresh_server.new_account()
    env = clean_env(tmp_path, **fresh_server.aws_env(account))
    done = quickstart("--data-dir", str(tmp_path / "nothing-here"), "--pki-dir",
                      str(tmp_path / "my-pki"), "--name", "from-env", "--key-type", "rsa",
                      env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "found from flags and environment" in done.stdout
    assert f"arn:aws:sts::{account.account_id}:assumed-role/from-env/" in done.stdout


def test_quickstart_without_a_server_says_how_to_start_one(tmp_path: Path) -> None:
    done = quickstart("--data-dir", str(tmp_path), env=clean_env(tmp_path), cwd=tmp_path)
    assert done.returncode == 1
    assert "no Roleport server found: start one with `make run`" in done.stderr


def test_aws_settings_meant_for_aws_are_not_sent_to_the_local_server(
        fresh_server: RoleportServer, tmp_path: Path) -> None:
    """A system-wide AWS_CA_BUNDLE and real access keys stay out of the local discovery."""
    env = clean_env(tmp_path, AWS_CA_BUNDLE="/etc/ssl/certs/ca-certificates.crt",
                    AWS_ACCESS_KEY_ID="AKIAREALAWSKEY000000", AWS_SECRET_ACCESS_KEY="x" * 40)
    done = quickstart("--data-dir", str(fresh_server.data_dir), "--pki-dir",
                      str(tmp_path / "pki"), "--name", "local-only", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "found from" in done.stdout and "server.json" in done.stdout
