"""Replicas starting at once on one new database: each adds the same admin key."""

from __future__ import annotations

import pytest

from roleport.server.bootstrap import add_access_key
from roleport.storage.sealing import SecretSealer
from roleport.storage.sql import engine, migrate
from roleport.storage.sql.repositories import SqlAccessKeys
from roleport.storage.sql.unit_of_work import SqlStore
from roleport.sts.keyring import Keyring


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):  # noqa: ANN001, ANN201
    url = (f"sqlite:///{tmp_path / 'test.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    eng = engine.create(url, pool_size=2)
    migrate.upgrade(eng)
    yield SqlStore(eng, SecretSealer(Keyring.of(b"k" * 32)))
    eng.dispose()


def test_the_replica_that_loses_the_insert_of_the_admin_key_reads_it_and_starts(
        store, monkeypatch):
    key_id = "AKIARACE" + store.engine.dialect.name.upper()[:8].ljust(12, "X")
    assert add_access_key(store, key_id, "s" * 40, "123456789012") is True
    # another replica: it looked before the first one committed, so it saw no key
    real_get = SqlAccessKeys.get
    calls = []

    def get_late(self, access_key_id):  # noqa: ANN001, ANN202
        calls.append(access_key_id)
        return None if len(calls) == 1 else real_get(self, access_key_id)

    monkeypatch.setattr(SqlAccessKeys, "get", get_late)
    assert add_access_key(store, key_id, "s" * 40, "123456789012") is False
    assert len(calls) == 2
    # and a different secret under that id is still refused, after the retry too
    calls.clear()
    with pytest.raises(SystemExit, match="another secret"):
        add_access_key(store, key_id, "t" * 40, "123456789012")
