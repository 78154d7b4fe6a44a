"""Secrets at rest: the data dir is the owner's alone whatever the umask, a copied database
file or a pg_dump holds no working secret access key, a database of an older version is
sealed at start, and admin keys from the environment are not written to disk."""

from __future__ import annotations

import base64
import contextlib
import os
import stat
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from roleport.storage.sql import engine, migrate
from roleport.testing import Account, RoleportServer
from tests.pg_server import find_bindir

from .conftest import bundle_source


@contextlib.contextmanager
def umask(mask: int):  # noqa: ANN201
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def modes(root: Path) -> dict[str, int]:
    out = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        out[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return out


def loose(root: Path) -> dict[str, str]:
    """Everything in ``root`` not 0700 (folders) or 0600 (files)."""
    return {name: f"{mode:04o}" for name, mode in modes(root).items()
            if mode != (0o700 if (root / name).is_dir() else 0o600)}


def database_bytes(data: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data.glob("roleport.db*")))


def hits(haystack: bytes, *secrets: str) -> list[str]:
    """The secrets found in ``haystack``, as they are or in base64 (a quick check that no
    trivial encoding hides them)."""
    found = []
    for secret in secrets:
        for form in (secret.encode(), base64.b64encode(secret.encode())):
            if form in haystack:
                found.append(secret)
    return found


@pytest.mark.parametrize("mask", [0o000, 0o022], ids=["umask000", "umask022"])
def test_the_data_dir_is_0700_and_every_file_in_it_0600_whatever_the_umask(tmp_path, pki,
                                                                          mask):
    data = tmp_path / "data"
    with umask(mask), RoleportServer(data) as srv:
        client = srv.client()
        client.create_trust_anchor(name="wal", source=bundle_source(pki.root))
        names = set(modes(data))
        assert {"roleport.db", "roleport.db-wal", "roleport.db-shm", "server-key.json",
                "admin-credentials.json", "server.json", "tls/ca.pem", "tls/ca.key",
                "tls/server.pem", "tls/server.key"} <= names
        assert loose(data) == {}  # while it runs: the WAL and SHM files too
    assert loose(data) == {}


def test_a_data_dir_left_readable_is_tightened_at_start_and_logged(tmp_path):
    data = tmp_path / "data"
    with RoleportServer(data, http=True):
        pass
    os.chmod(data, 0o755)
    for path in data.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    with RoleportServer(data, http=True) as srv:
        srv.client().list_trust_anchors()
        assert loose(data) == {}
        log = "".join(srv.output)
    assert "tightened permissions" in log and "admin-credentials.json (0644)" in log
    with RoleportServer(data, http=True) as again:  # nothing left to say the next time
        assert "tightened" not in "".join(again.output)


def test_a_copy_of_the_sqlite_database_holds_no_secret(tmp_path):
    data = tmp_path / "data"
    with RoleportServer(data, http=True) as srv:
        other = srv.new_account()
        srv.client("sts", other).get_caller_identity()
        srv.client().list_trust_anchors()
        secrets = (srv.admin.secret_access_key, other.secret_access_key)
        assert hits(database_bytes(data), *secrets) == []
    assert hits(database_bytes(data), *secrets) == []


def pg_dump(url: str) -> bytes:
    bindir = find_bindir()
    assert bindir is not None and (bindir / "pg_dump").is_file(), "no pg_dump binary"
    done = subprocess.run([str(bindir / "pg_dump"), "--no-owner", url], capture_output=True,
                          check=True, timeout=60)
    assert b"access_keys" in done.stdout  # the dump is of the right database
    return done.stdout


def test_a_pg_dump_holds_no_secret(pg_server, postgres_url):
    account = pg_server.new_account()
    pg_server.client("sts", account).get_caller_identity()
    dump = pg_dump(postgres_url)
    assert hits(dump, pg_server.admin.secret_access_key, account.secret_access_key) == []
    assert b"rp-sealed:1:" in dump


OLD_KEY = Account("210987654321", "AKIAOLDPLAINTEXT0001",
                  "oldPlainTextSecret/0123456789abcdefghijk")


def _database_of_an_older_version(url: str) -> None:
    """A database as Roleport before sealing (revision 0002) left it: secrets in clear."""
    eng = engine.create(url, pool_size=1)
    try:
        migrate.upgrade(eng, "0002")
        with eng.begin() as conn:
            conn.execute(text("INSERT INTO accounts VALUES (:a, 0)"), {"a": OLD_KEY.account_id})
            conn.execute(text(
                "INSERT INTO access_keys (access_key_id, secret_access_key, account_id, "
                "principal_arn, enabled, created_at) VALUES (:k, :s, :a, :p, :e, :t)"),
                {"k": OLD_KEY.access_key_id, "s": OLD_KEY.secret_access_key,
                 "a": OLD_KEY.account_id, "p": f"arn:aws:iam::{OLD_KEY.account_id}:root",
                 "e": True, "t": int(datetime.now(timezone.utc).timestamp() * 1e6)})
    finally:
        eng.dispose()


def test_plain_text_secrets_of_an_older_version_are_sealed_at_start(tmp_path, pki):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    _database_of_an_older_version(f"sqlite:///{data / 'roleport.db'}")
    assert hits(database_bytes(data), OLD_KEY.secret_access_key)  # the test's premise
    with RoleportServer(data, http=True) as srv:
        client = srv.client("rolesanywhere", OLD_KEY)
        client.create_trust_anchor(name="old-keys", source=bundle_source(pki.root))
        assert hits(database_bytes(data), OLD_KEY.secret_access_key) == []
    with RoleportServer(data, http=True) as srv:  # and they keep working after a restart
        assert srv.client("rolesanywhere", OLD_KEY).list_trust_anchors()["trustAnchors"]


def test_admin_keys_from_the_environment_are_not_written_to_the_data_dir(tmp_path):
    env = {"ROLEPORT_ADMIN_ACCESS_KEY_ID": "AKIAROLEPORTENV00001",
           "ROLEPORT_ADMIN_SECRET_ACCESS_KEY": "envSecret/envSecret/envSecret/envSecret0"}
    data = tmp_path / "data"
    with RoleportServer(data, env=env, http=True) as srv:
        assert srv.client().list_trust_anchors()["trustAnchors"] == []
        banner = "".join(srv.output)
    assert not (data / "admin-credentials.json").exists()
    assert "ROLEPORT_ADMIN_SECRET_ACCESS_KEY" in banner
    secret = env["ROLEPORT_ADMIN_SECRET_ACCESS_KEY"]
    everything = b"".join(p.read_bytes() for p in data.rglob("*") if p.is_file())
    assert hits(everything, secret) == []


def test_a_separate_secrets_key_seals_them_and_rotates(tmp_path):
    """ROLEPORT_SECRETS_KEY: the stored secrets open with it alone, and a rotation
    ("NEW,OLD") re-seals them at start, so OLD can then be dropped."""
    old, new = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))
    data = tmp_path / "data"
    with RoleportServer(data, http=True, env={"ROLEPORT_SECRETS_KEY": old}) as srv:
        admin = srv.admin
        srv.client().list_trust_anchors()
    with RoleportServer(data, http=True, env={"ROLEPORT_SECRETS_KEY": f"{new},{old}"}) as srv:
        srv.client().list_trust_anchors()
        assert "sealed 1 stored secret(s)" in "".join(srv.output)
    with RoleportServer(data, http=True, env={"ROLEPORT_SECRETS_KEY": new}) as srv:
        assert srv.admin == admin
        srv.client().list_trust_anchors()
    # the server key alone does not open them: a copy of the data dir without the
    # separate key gives no working admin key, and the server says why it cannot start
    srv = RoleportServer(data, http=True)
    try:
        with pytest.raises(RuntimeError, match="no key-encryption key"):
            srv.start()
    finally:
        srv.close()
