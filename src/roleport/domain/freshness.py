"""How fresh read-mostly data must be: a per-process change counter plus a time bound.

CreateSession reads the same trust anchor, profile and CRLs for every request; it keeps
what it read for a short while. Any control-plane write made by this process bumps the
counter, which retires every kept entry at once; writes made by other processes (other
workers, other replicas) are seen within the time bound. AWS documents the same kind of
delay for its own changes ("a change can take a short time to take effect").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

#: how long another process's change may go unseen
DEFAULT_MAX_AGE = timedelta(seconds=1)


class ChangeCounter:
    def __init__(self) -> None:
        self._value = 0
        self._lock = threading.Lock()

    @property
    def value(self) -> int:
        return self._value

    def bump(self) -> None:
        with self._lock:
            self._value += 1


class Kept:
    """A bounded map of values read from storage, each kept for ``max_age`` at most and
    retired at once when ``changes`` moves. Thread-safe."""

    def __init__(self, changes: ChangeCounter, max_age: timedelta = DEFAULT_MAX_AGE,
                 size: int = 1024) -> None:
        self.changes = changes
        self._max_age = max_age.total_seconds()
        self._size = size
        self._items: dict[object, tuple[int, float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: object, read: Callable[[], object],
            keep: Callable[[object], bool] | None = None) -> object:
        """The kept value for ``key``, else ``read()`` (kept unless ``keep`` says no)."""
        now = time.monotonic()
        with self._lock:
            kept = self._items.get(key)
        if kept is not None and kept[0] == self.changes.value and now < kept[1]:
            return kept[2]
        generation = self.changes.value  # taken before the read: a change during it retires it
        value = read()
        if keep is not None and not keep(value):
            return value
        with self._lock:
            if len(self._items) >= self._size:
                self._items.clear()
            self._items[key] = (generation, now + self._max_age, value)
        return value


class NotifyingStore:
    """A unit-of-work factory that bumps ``changes`` after each committed write unit."""

    def __init__(self, store: Any, changes: ChangeCounter) -> None:
        self._store = store
        self.changes = changes

    def __call__(self, *, write: bool = False, durable: bool = True) -> Any:
        # (``durable`` only when asked: a factory that does not know it keeps working)
        uow = self._store(write=write) if durable else self._store(write=write, durable=False)
        return _Notifying(uow, self.changes) if write else uow

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class _Notifying:
    def __init__(self, uow: Any, changes: ChangeCounter) -> None:
        self._uow = uow
        self._changes = changes

    def __enter__(self) -> Any:
        return self._uow.__enter__()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        result = self._uow.__exit__(exc_type, exc, tb)
        if exc_type is None:
            self._changes.bump()
        return result
