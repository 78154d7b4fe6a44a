"""Crash safety: SIGKILL a serving ``roleport serve`` (or one of its ``--workers``) in the
middle of a concurrent write load, on SQLite and on PostgreSQL, then check that every write
acknowledged with a 2xx is there and whole, and that the SQLite file passes
``PRAGMA integrity_check``.

Each seed picks the moment of the kill and the mix of writes (tests/e2e/write_load.py).
``ROLEPORT_CRASH_SEEDS=1,2,...`` runs more of them (``make crash`` runs twenty).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from botocore.config import Config

from roleport.testing import Account, DevPki, RoleportServer

from .write_load import Ledger, Writer, check_acknowledged_writes

SEEDS = [int(s) for s in os.environ.get("ROLEPORT_CRASH_SEEDS", "1,2").split(",") if s]
THREADS = 4
#: a server starts in a second or two, but a machine shared by many test runs can take long
START_TIMEOUT = 120.0

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def dev_pki():  # noqa: ANN201
    pki = DevPki()
    yield pki
    pki.close()


def _client(server: RoleportServer, account: Account):  # noqa: ANN202
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2,
                    read_timeout=10, max_pool_connections=2)
    return server.client("rolesanywhere", account, config=config)


def workers_of(pid: int) -> list[int]:
    """The worker processes the supervisor ``pid`` forked (Linux /proc)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()]


def _wait_for(condition, timeout: float = 20.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def sqlite_integrity(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


class Load:
    """THREADS writers on ``server``, each with its own client, recording into a ledger."""

    def __init__(self, server: RoleportServer, account: Account, seed: int,
                 pki: DevPki) -> None:
        self.ledger = Ledger()
        self.stop = threading.Event()
        role_arn = f"arn:aws:iam::{account.account_id}:role/crash"
        self.writers = [Writer(i, seed, _client(server, account), self.ledger,
                               pki.trust_anchor_pem, pki.crl(), role_arn, self.stop)
                        for i in range(THREADS)]
        self.threads = [threading.Thread(target=w.run, daemon=True) for w in self.writers]

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)
        assert not any(t.is_alive() for t in self.threads), "a writer hung"


def _server(data: Path, database_url: str | None, *extra: str) -> RoleportServer:
    # quotas out of the way: the load creates until it is killed
    quotas = ["--quota-trust-anchors", "100000", "--quota-profiles", "100000"]
    server = RoleportServer(data, database_url=database_url, http=True,
                            extra_args=[*quotas, *extra])
    return server.start(timeout=START_TIMEOUT)


def _after_acknowledged(load: Load, count: int, rng: random.Random) -> None:
    """Wait until ``count`` writes were acknowledged (however fast this machine is), then
    a random fraction of a request more, so the kill lands in the middle of one."""
    _wait_for(lambda: load.ledger.acknowledged >= count, timeout=START_TIMEOUT)
    time.sleep(rng.uniform(0, 0.05))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request, tmp_path):  # noqa: ANN001, ANN201
    """(data dir, database URL or None for the data dir's SQLite file)."""
    if request.param == "sqlite":
        return tmp_path / "data", None
    return tmp_path / "data", request.getfixturevalue("postgres_url")


@pytest.mark.parametrize("seed", SEEDS)
def test_sigkill_of_the_server_loses_no_acknowledged_write(backend, seed, dev_pki):
    data, url = backend
    rng = random.Random(seed)
    server = _server(data, url)
    try:
        account = server.new_account()
        with Load(server, account, seed, dev_pki) as load:
            _after_acknowledged(load, rng.randint(20, 120), rng)
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(10)
        assert server.process.returncode == -signal.SIGKILL
    finally:
        server.close()
    ledger = load.ledger
    if url is None:
        sqlite_integrity(data / "roleport.db")
    with contextlib.closing(_server(data, url)) as again:
        client = _client(again, account)
        counts = check_acknowledged_writes(client, ledger, dev_pki.trust_anchor_pem)
        # and the check would see a lost write: one acknowledged tag that is not there
        arn = next(iter(ledger.anchors or ledger.profiles))
        ledger.tagged.setdefault(arn, {})["never-written"] = "x"
        with pytest.raises(AssertionError, match="never-written"):
            check_acknowledged_writes(client, ledger, dev_pki.trust_anchor_pem)
    if url is None:
        sqlite_integrity(data / "roleport.db")
    print(f"seed {seed}: {counts}")


@pytest.mark.parametrize("seed", SEEDS)
def test_sigkill_of_a_worker_loses_no_acknowledged_write(backend, seed, dev_pki):
    data, url = backend
    rng = random.Random(seed)
    with contextlib.closing(_server(data, url, "--workers", "2")) as server:
        _wait_for(lambda: len(workers_of(server.process.pid)) == 2, timeout=START_TIMEOUT)
        account = server.new_account()
        with Load(server, account, seed, dev_pki) as load:
            _after_acknowledged(load, rng.randint(20, 80), rng)
            victim = rng.choice(workers_of(server.process.pid))
            os.kill(victim, signal.SIGKILL)
            # the supervisor replaces it; the load goes on through the other one meanwhile
            _wait_for(lambda: victim not in workers_of(server.process.pid)
                      and len(workers_of(server.process.pid)) == 2, timeout=START_TIMEOUT)
            before = load.ledger.acknowledged
            _wait_for(lambda: load.ledger.acknowledged > before + 5, timeout=START_TIMEOUT)
        ledger = load.ledger
        counts = check_acknowledged_writes(_client(server, account), ledger,
                                           dev_pki.trust_anchor_pem)
        assert "exited with status -9" in "".join(server.output)
    assert server.process.returncode == 0
    if url is None:
        sqlite_integrity(data / "roleport.db")
    print(f"seed {seed}: {counts}")
