"""Stored secrets on SQLite and PostgreSQL: sealed in the row, opened on read, bound to
their row, re-sealed after a rotation, and migration 0003 over plain-text rows."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from roleport.auth.identities import AccessKeyLookup
from roleport.domain.model import AccessKey
from roleport.storage.base import StorageError
from roleport.storage.sealing import SecretSealer, UnreadableSecret
from roleport.storage.sql import engine, migrate
from roleport.storage.sql.unit_of_work import SqlStore
from roleport.sts.keyring import Keyring

OLD, NEW = Keyring.of(os.urandom(32)), Keyring.of(os.urandom(32))
BOTH = Keyring.of(NEW.current_secret, OLD.current_secret)
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def key(key_id: str = "AKIAEXAMPLE000000001", secret: str = SECRET) -> AccessKey:
    return AccessKey(key_id, secret, "111111111111", "arn:aws:iam::111111111111:root",
                     datetime.now(timezone.utc))


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):  # noqa: ANN001, ANN201
    """An empty database of its own (migrations go back and forth in it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    from tests.conftest import _pg_connect

    base = request.getfixturevalue("postgres_url")
    name = f"{base.rsplit('/', 1)[1]}_{uuid.uuid4().hex[:8]}"
    with _pg_connect(base) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base.rsplit('/', 1)[0]}/{name}"
    finally:
        with _pg_connect(base) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def store_on(url: str, ring: Keyring | None) -> SqlStore:
    eng = engine.create(url, pool_size=1)
    sealer = SecretSealer(ring) if ring else None
    migrate.upgrade(eng, sealer=sealer)
    return SqlStore(eng, sealer)


def stored(store: SqlStore) -> dict[str, str]:
    with store.engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT access_key_id, secret_access_key FROM access_keys")).all())


def test_a_secret_is_sealed_in_its_row_and_opened_on_read(url):
    store = store_on(url, OLD)
    with store(write=True) as uow:
        uow.access_keys.add(key())
    raw = stored(store)["AKIAEXAMPLE000000001"]
    assert SECRET not in raw and raw.startswith(f"rp-sealed:1:{OLD.current}:")
    with store() as uow:
        assert uow.access_keys.get("AKIAEXAMPLE000000001").secret_access_key == SECRET
        assert [k.secret_access_key for k in uow.access_keys.for_account("111111111111")] \
            == [SECRET]
    with pytest.raises(StorageError, match="plain text"), store_on(url, None)(write=True) as u:
        u.access_keys.add(key("AKIAEXAMPLE000000002"))


def test_a_sealed_secret_moved_to_another_row_does_not_open(url):
    store = store_on(url, OLD)
    with store(write=True) as uow:
        uow.access_keys.add(key("AKIAEXAMPLE000000001"))
        uow.access_keys.add(key("AKIAEXAMPLE000000002", "another-secret"))
    first = stored(store)["AKIAEXAMPLE000000001"]
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE access_keys SET secret_access_key = :s "
                          "WHERE access_key_id = 'AKIAEXAMPLE000000002'"), {"s": first})
    with pytest.raises(UnreadableSecret), store() as uow:
        uow.access_keys.get("AKIAEXAMPLE000000002")


def test_rotation_reseals_with_the_new_key_so_the_old_one_can_go(url):
    with store_on(url, OLD)(write=True) as uow:
        uow.access_keys.add(key())
    rotated = store_on(url, BOTH)
    with rotated(write=True) as uow:
        assert uow.access_keys.reseal() == (1, [])
        assert uow.access_keys.reseal() == (0, [])
    assert stored(rotated)["AKIAEXAMPLE000000001"].startswith(f"rp-sealed:1:{NEW.current}:")
    with store_on(url, NEW)() as uow:
        assert uow.access_keys.get("AKIAEXAMPLE000000001").secret_access_key == SECRET
    with store_on(url, OLD)() as uow, pytest.raises(UnreadableSecret, match="not in"):
        uow.access_keys.get("AKIAEXAMPLE000000001")


def _plain_text_row_at_0002(url: str) -> None:
    eng = engine.create(url, pool_size=1)
    migrate.upgrade(eng, "0002")
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO access_keys VALUES ('AKIAEXAMPLE000000001', :s, "
                          "'111111111111', 'arn:aws:iam::111111111111:root', :e, 0)"),
                     {"s": SECRET, "e": True})
    eng.dispose()


def test_migration_0003_seals_plain_text_rows_and_needs_the_key_to(url):
    _plain_text_row_at_0002(url)
    eng = engine.create(url, pool_size=1)
    with pytest.raises(RuntimeError, match="plain-text secrets"):
        migrate.upgrade(eng)
    assert migrate.current(eng) == "0002"  # nothing half done
    with SqlStore(eng)() as uow:  # plain text still reads, until migrated
        assert uow.access_keys.get("AKIAEXAMPLE000000001").secret_access_key == SECRET
    migrate.upgrade(eng, sealer=SecretSealer(OLD))
    assert SECRET not in stored(SqlStore(eng))["AKIAEXAMPLE000000001"]
    with SqlStore(eng, SecretSealer(OLD))() as uow:
        assert uow.access_keys.get("AKIAEXAMPLE000000001").secret_access_key == SECRET
    migrate.downgrade(eng, "0002", sealer=SecretSealer(OLD))  # and back
    assert stored(SqlStore(eng))["AKIAEXAMPLE000000001"] == SECRET
    migrate.upgrade(eng, sealer=SecretSealer(OLD))
    eng.dispose()


def test_the_lookup_opens_a_secret_once_per_ttl_and_refuses_one_that_does_not_open(url):
    store = store_on(url, OLD)
    with store(write=True) as uow:
        uow.access_keys.add(key())
    reads = []

    def counting(**kw):  # noqa: ANN003, ANN202
        reads.append(kw)
        return store(**kw)

    lookup = AccessKeyLookup(counting)
    for _ in range(100):
        assert lookup("AKIAEXAMPLE000000001", None).secret_access_key == SECRET
    assert len(reads) == 1  # the hot path reads (and decrypts) nothing
    assert AccessKeyLookup(store_on(url, NEW))("AKIAEXAMPLE000000001", None) is None
