"""Run a job periodically in exactly one process of all workers and replicas.

Every process that may run the job has a :class:`LeaderLoop` thread. Each ``poll``
seconds it takes or renews the database lease (storage/sql/operations.py) for ``ttl``;
the holder runs the job when it becomes leader and then every ``interval`` seconds. A
leader that stops releases the lease; one that dies loses it when ``ttl`` passes, and
another process takes over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from roleport.clock import Clock
from roleport.storage.base import StorageError
from roleport.storage.sql.operations import SqlOperations

log = logging.getLogger("roleport.scheduler")

DEFAULT_LEASE = timedelta(minutes=5)


class LeaderLoop:
    def __init__(self, operations: SqlOperations, name: str, job: Callable[[], object], *,
                 interval: float, clock: Clock, ttl: timedelta = DEFAULT_LEASE,
                 poll: float | None = None) -> None:
        self.operations = operations
        self.name = name
        self.job = job
        self.interval = interval
        self.clock = clock
        self.ttl = ttl
        self.poll = poll if poll is not None else min(interval, ttl.total_seconds() / 3)
        self.holder = f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.leader = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"roleport-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.leader:
            self.operations.release_lease(self.name, self.holder)
            self.leader = False

    def tick(self, next_run: float | None) -> float | None:
        """One turn: take/renew the lease; run the job when due. Returns the next due time."""
        try:
            self.leader = self.operations.acquire_lease(self.name, self.holder,
                                                        self.clock.now(), self.ttl)
        except StorageError as exc:
            log.warning("%s lease: %s", self.name, exc)
            self.leader = False
        if not self.leader:
            return None
        if next_run is not None and time.monotonic() < next_run:
            return next_run
        try:
            self.job()
        except Exception:  # noqa: BLE001 - the loop must survive a failed run
            log.exception("%s run failed", self.name)
        return time.monotonic() + self.interval

    def _run(self) -> None:
        next_run: float | None = None
        while not self._stop.is_set():
            next_run = self.tick(next_run)
            self._stop.wait(self.poll)
