"""How fresh read-mostly data must be: a per-process change counter plus a time bound.

CreateSession reads the same trust anchor, profile and CRLs for every request; it keeps
what it read for a short while. Any control-plane write made by this process bumps the
counter, which retires every kept entry at once; writes made by other processes (other
workers, other replicas) are seen within the time bound. AWS documents the same kind of
delay for its own changes ("a change can take a short time to take effect").
"""

from __future__ import annotations

import threading
from datetime import timedelta

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
