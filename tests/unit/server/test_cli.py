"""The CLI entry points: help on every command, migrations, account keys."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

COMMANDS = [[], ["serve"], ["db"], ["db", "upgrade"], ["accounts"], ["accounts", "create-key"],
            ["subjects"], ["subjects", "show"], ["audit"], ["audit", "search"],
            ["notifications"], ["notifications", "run"]]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "roleport")
def test_every_command_has_help(args):
    out = subprocess.run([sys.executable, "-m", "roleport.cli.main", *args, "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "Usage:" in out.stdout


def test_db_upgrade_and_create_key(tmp_path):
    run = [sys.executable, "-m", "roleport.cli.main"]
    up = subprocess.run([*run, "db", "upgrade", "--data-dir", str(tmp_path)],
                        capture_output=True, text=True, timeout=60)
    assert up.returncode == 0 and "revision" in up.stdout
    key = subprocess.run([*run, "accounts", "create-key", "--data-dir", str(tmp_path),
                          "--account-id", "210987654321"], capture_output=True, text=True,
                         timeout=60)
    assert key.returncode == 0, key.stderr
    data = json.loads(key.stdout)
    assert data["AccountId"] == "210987654321" and data["AccessKeyId"].startswith("AKIA")
    assert len(data["SecretAccessKey"]) == 40
    bad = subprocess.run([*run, "accounts", "create-key", "--data-dir", str(tmp_path),
                          "--account-id", "12"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "12 digits" in bad.stderr


def test_serve_explains_the_audit_options():
    out = subprocess.run([sys.executable, "-m", "roleport.cli.main", "serve", "--help"],
                         capture_output=True, text=True, timeout=60).stdout
    for option in ("--audit-log", "--audit-fail-closed", "--log-buffer-lines"):
        assert option in out


def test_fail_closed_without_a_destination_and_an_unopenable_file_stop_the_start(tmp_path):
    base = [sys.executable, "-m", "roleport.cli.main", "serve", "--data-dir", str(tmp_path)]
    out = subprocess.run([*base, "--audit-fail-closed"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and "--audit-fail-closed needs --audit-log" in out.stderr
    out = subprocess.run([*base, "--audit-log", str(tmp_path)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and "cannot open" in out.stderr
def test_the_banner_shows_a_new_admin_secret_to_a_terminal_only(tmp_path) -> None:  # noqa: ANN001
    from types import SimpleNamespace

    from roleport.cli.serve import _banner
    from roleport.config import Settings

    admin = SimpleNamespace(created=True, source="generated", access_key_id="AKIAEXAMPLE",
                            secret_access_key="s3cr3t-" * 6)
    settings = Settings(data_dir=tmp_path)
    shown = _banner(settings, None, admin, tmp_path, terminal=True)
    logged = _banner(settings, None, admin, tmp_path, terminal=False)
    assert admin.secret_access_key in shown
    assert admin.secret_access_key not in logged
    assert "AKIAEXAMPLE" in logged and str(tmp_path / "admin-credentials.json") in logged
