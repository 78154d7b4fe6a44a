"""The durability settings: what each kind of SQLite unit of work commits with, and the
PostgreSQL settings that are named at start.

The crash tests (tests/e2e/test_crash_safety.py) show that no acknowledged write is lost
when the server is killed; a power loss cannot be simulated in a test, so this checks the
setting that decides it: ``synchronous=FULL`` (the log synced at each commit) for every
write a client is told is done, ``NORMAL`` only where the store was asked for it.
"""

from __future__ import annotations

import pytest

from roleport.storage.sql import engine, migrate
from roleport.storage.sql.unit_of_work import SqlStore

FULL, NORMAL = 2, 1


def _store(tmp_path, **options) -> SqlStore:  # noqa: ANN001, ANN003
    eng = engine.create(f"sqlite:///{tmp_path / 'd.db'}", pool_size=1, **options)
    migrate.upgrade(eng)
    return SqlStore(eng)


def _synchronous(store: SqlStore, **unit) -> int:  # noqa: ANN003
    with store(**unit) as uow:
        return int(uow.connection.exec_driver_sql("PRAGMA synchronous").scalar_one())


def test_writes_sync_the_log_at_each_commit_by_default(tmp_path):
    store = _store(tmp_path)
    try:
        with store() as uow:
            assert uow.connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert _synchronous(store, write=True) == FULL
        # bookkeeping asks for less, on the same pooled connection, and only it gets less
        assert _synchronous(store, write=True, durable=False) == NORMAL
        assert _synchronous(store, write=True) == FULL
        assert _synchronous(store) == FULL
    finally:
        store.dispose()


def test_normal_is_the_operators_choice_for_every_write(tmp_path):
    store = _store(tmp_path, sqlite_synchronous="normal")
    try:
        assert _synchronous(store, write=True) == NORMAL
        assert _synchronous(store, write=True, durable=False) == NORMAL
    finally:
        store.dispose()


def test_an_unknown_setting_is_refused(tmp_path):
    with pytest.raises(ValueError, match="sqlite_synchronous"):
        engine.create(f"sqlite:///{tmp_path / 'd.db'}", sqlite_synchronous="off")


@pytest.mark.postgres
def test_postgresql_settings_that_lose_acknowledged_commits_are_named():
    from tests.conftest import new_database

    with new_database("durability") as url:
        eng = engine.create(url, pool_size=1)
        try:
            with eng.connect() as conn:
                fsync_off = conn.exec_driver_sql("SHOW fsync").scalar_one() == "off"
                database = conn.exec_driver_sql("SELECT current_database()").scalar_one()
                conn.exec_driver_sql(f'ALTER DATABASE "{database}" SET synchronous_commit=on')
                conn.commit()
            eng.dispose()  # new connections take the database's setting
            warnings = engine.durability_warnings(eng)
            assert any("fsync=off" in w for w in warnings) == fsync_off  # a server setting
            assert not any("synchronous_commit" in w for w in warnings)
            with eng.connect() as conn:
                conn.exec_driver_sql(f'ALTER DATABASE "{database}" SET synchronous_commit=off')
                conn.commit()
            eng.dispose()
            assert any("synchronous_commit=off" in w for w in engine.durability_warnings(eng))
        finally:
            eng.dispose()


def test_sqlite_has_no_durability_warning(tmp_path):
    eng = engine.create(f"sqlite:///{tmp_path / 'd.db'}", sqlite_synchronous="normal")
    try:
        assert engine.durability_warnings(eng) == []
    finally:
        eng.dispose()
