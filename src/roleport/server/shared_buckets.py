"""Token buckets in shared memory: one table for all the worker processes of a server.

``roleport serve --workers N`` forks N workers; a rate limit counted by each worker alone
would let a client through at N times the rate (the kernel spreads its connections over
the workers). :class:`SharedBuckets` is a fixed-size hash table in a shared memory mapping
(``memfd_create``, else an unlinked temporary file) made by the supervisor before it
forks, so every worker maps the same pages and sees the same counts.

Layout: ``GROUPS`` groups of ``SLOTS_PER_GROUP`` slots; a slot is 32 bytes: a 16-byte
BLAKE2b digest of the bucket's name (namespace and key), the tokens, and the monotonic
time they were counted (``CLOCK_MONOTONIC`` is the same clock in every process). A key
lives in the group its digest names; a new key takes an empty slot of that group, else the
slot counted longest ago (a forgotten bucket is a full one, as in
:class:`roleport.server.ratelimit.TokenBuckets`). 65,536 slots take 2 MiB.

Locking: a group is guarded by one of ``STRIPES`` locks, each a ``fcntl`` byte-range lock
on the mapping's file (between processes; the kernel drops it if its holder dies, so a
worker killed inside the few microseconds it holds one cannot wedge the others) taken under
a ``threading.Lock`` of the same stripe (between the threads of one process, which a
``fcntl`` lock does not separate).

Counts are per server (all its workers), not per replica: replicas on one database each
keep their own table.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import math
import mmap
import os
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator

from roleport.server.ratelimit import Rate

GROUPS = 8192
SLOTS_PER_GROUP = 8
STRIPES = 64

_SLOT = struct.Struct("<16sdd")
_GROUP_BYTES = _SLOT.size * SLOTS_PER_GROUP
_EMPTY = bytes(16)


class SharedBuckets:
    """A table of token buckets shared by the processes forked after it was made."""

    def __init__(self, *, groups: int = GROUPS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._groups = groups
        self._clock = clock
        size = groups * _GROUP_BYTES
        if hasattr(os, "memfd_create"):
            self._fd = os.memfd_create("roleport-rate-limits", 0)
        else:  # pragma: no cover - non-Linux
            handle = tempfile.TemporaryFile(prefix="roleport-rate-limits-")
            self._fd = os.dup(handle.fileno())
            handle.close()
        os.ftruncate(self._fd, size)
        self._map = mmap.mmap(self._fd, size, mmap.MAP_SHARED,
                              mmap.PROT_READ | mmap.PROT_WRITE)
        self._pid = -1
        self._thread_locks: list[threading.Lock] = []

    # -- locking -------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, group: int) -> Iterator[None]:
        if self._pid != os.getpid():  # a fresh set of thread locks in each process
            self._thread_locks = [threading.Lock() for _ in range(STRIPES)]
            self._pid = os.getpid()
        stripe = group % STRIPES
        with self._thread_locks[stripe]:
            fcntl.lockf(self._fd, fcntl.LOCK_EX, 1, stripe)
            try:
                yield
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, stripe)

    # -- the table -------------------------------------------------------------------

    @staticmethod
    def _digest(namespace: str, key: str) -> bytes:
        return hashlib.blake2b(f"{namespace}\0{key}".encode("utf-8", "surrogatepass"),
                               digest_size=16).digest()

    def _find(self, digest: bytes, base: int, now: float, burst: float) \
            -> tuple[int, float, float]:
        """The slot offset of ``digest`` in the group at ``base`` (or the slot to take for
        it), with its tokens and time (a full bucket for a new key)."""
        victim, victim_at = base, math.inf
        for offset in range(base, base + _GROUP_BYTES, _SLOT.size):
            key, tokens, at = _SLOT.unpack_from(self._map, offset)
            if key == digest:
                return offset, tokens, at
            if key == _EMPTY:
                return offset, burst, now
            if at < victim_at:
                victim, victim_at = offset, at
        return victim, burst, now

    def _update(self, namespace: str, key: str, rate: Rate, *, take: bool) -> float:
        digest = self._digest(namespace, key)
        group = int.from_bytes(digest[:8], "little") % self._groups
        base = group * _GROUP_BYTES
        burst = float(rate.burst)
        with self._locked(group):
            now = self._clock()
            offset, tokens, at = self._find(digest, base, now, burst)
            tokens = min(burst, tokens + max(0.0, now - at) * rate.per_second)
            if tokens >= 1.0:
                wait = 0.0
                if take:
                    tokens -= 1.0
            else:
                wait = (1.0 - tokens) / rate.per_second
            if take:
                _SLOT.pack_into(self._map, offset, digest, tokens, now)
        return wait

    def take(self, namespace: str, key: str, rate: Rate) -> float:
        """Take a token from the bucket ``namespace``/``key``: 0.0 when there was one,
        else the seconds until there is (and nothing is taken)."""
        return self._update(namespace, key, rate, take=True)

    def wait(self, namespace: str, key: str, rate: Rate) -> float:
        """Seconds until the bucket has a token (0.0 when it has one); takes nothing."""
        return self._update(namespace, key, rate, take=False)

    def buckets(self, namespace: str, rate: Rate) -> SharedTokenBuckets:
        return SharedTokenBuckets(self, namespace, rate)

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)


class SharedTokenBuckets:
    """One namespace of a :class:`SharedBuckets` table, with the interface of
    :class:`roleport.server.ratelimit.TokenBuckets`."""

    def __init__(self, table: SharedBuckets, namespace: str, rate: Rate) -> None:
        self.rate = rate
        self._table = table
        self._namespace = namespace

    def take(self, key: str) -> bool:
        return self._table.take(self._namespace, str(key), self.rate) == 0.0

    def empty(self, key: str) -> bool:
        return self._table.wait(self._namespace, str(key), self.rate) > 0.0

    def seconds_until_token(self, key: str) -> float:
        return self._table.wait(self._namespace, str(key), self.rate)
