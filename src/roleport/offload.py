"""Where a request runs: on its worker's event loop, or on the worker's thread pool.

Roleport's request code is synchronous and CPU-bound: verifying a signature and a
certificate path, evaluating a policy, sealing a token. Running it directly on the event
loop saves the hand-off to a thread and back and the GIL traffic that comes with it
(about an eighth of a CreateSession's CPU, measured). That is safe only while
nothing in the request waits on the network: an embedded SQLite database answers in
microseconds, a CRL distribution point or an upstream STS may take seconds, during which
every other connection of the worker would wait too.

So code that is about to wait on the network says so first, with :func:`network_wait`.
On the event loop that raises :class:`MoveToThread` and the server runs the request again,
from the start, on its thread pool; on a pool thread it does nothing. The rule for
callers: nothing the request changes (a database write, an audit line, a metric) may come
before the call, so that running it twice is the same as running it once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["MoveToThread", "network_wait", "run_on_loop"]

T = TypeVar("T")

_here = threading.local()


class MoveToThread(Exception):
    """The request is about to wait on the network: run it on the thread pool instead."""


def network_wait(what: str) -> None:
    """Declare that the caller is about to wait on the network for ``what``."""
    if getattr(_here, "on_loop", False):
        raise MoveToThread(what)


def run_on_loop(fn: Callable[..., T], *args: object) -> T:
    """Call ``fn(*args)`` on the event loop thread; :func:`network_wait` then raises."""
    _here.on_loop = True
    try:
        return fn(*args)
    finally:
        _here.on_loop = False
