"""Token buckets by key: the one rate limiter of the server, for any key (a source
address, an access key id, an account...).

A bucket holds up to ``burst`` tokens and gains ``per_second`` tokens a second; an event
takes one token, and finds the bucket empty when events come faster than the rate for
longer than the burst allows. Buckets are refilled lazily (from the time of the last
event), so an idle key costs nothing, and the number of keys kept is bounded: beyond
``max_keys`` the least recently used bucket is forgotten (a forgotten bucket is a full
one). One :class:`TokenBuckets` is shared by the threads of a worker process; each worker
(and each replica) counts on its own.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

DEFAULT_MAX_KEYS = 100_000


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("a rate needs a positive refill and a burst of at least 1")


class TokenBuckets:
    def __init__(self, rate: Rate, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.rate = rate
        self._clock = clock
        self._max_keys = max_keys
        #: key -> (tokens, time they were counted)
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _tokens(self, key: Hashable, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.rate.burst), now))
        return min(float(self.rate.burst), tokens + (now - at) * self.rate.per_second)

    def take(self, key: Hashable) -> bool:
        """Take a token for one event of ``key``: False (and nothing taken) when empty."""
        with self._lock:
            now = self._clock()
            tokens = self._tokens(key, now)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
            return allowed

    def empty(self, key: Hashable) -> bool:
        """Whether the next event of ``key`` would find the bucket empty (takes nothing)."""
        with self._lock:
            return key in self._buckets and self._tokens(key, self._clock()) < 1.0

    def seconds_until_token(self, key: Hashable) -> float:
        """How long until ``key`` has a token again (0 when it has one)."""
        with self._lock:
            if key not in self._buckets:
                return 0.0
            missing = 1.0 - self._tokens(key, self._clock())
            return max(0.0, missing / self.rate.per_second)
