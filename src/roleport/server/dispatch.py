"""Running requests on the event loop, in arrival order, with turns for the loop.

With ``--dispatch loop`` a worker runs its requests on its event loop (see
:mod:`roleport.offload`). Run straight from each connection's task, a saturated loop
works through every request that is ready before it polls its sockets again, and uvloop
then accepts new connections a few per turn: at 256 connections some waited in the
listen queue for seconds. :class:`LoopQueue` gives the loop a turn every couple of
milliseconds of requests instead, so it keeps reading its sockets and accepting, and
requests are served in the order they arrived.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from roleport.offload import run_on_loop

__all__ = ["LoopQueue"]


class LoopQueue:
    """``await queue.run(fn, *args)``: ``fn(*args)`` on the loop, in arrival order, the loop
    getting a turn whenever the calls have run for ``turn_seconds`` (by default after each
    CreateSession, every few control-plane reads).

    Exceptions of ``fn`` (``MoveToThread`` included) reach the caller.
    """

    def __init__(self, turn_seconds: float = 0.002) -> None:
        #: how long requests may run before the loop gets a turn (at least one runs)
        self.turn_seconds = turn_seconds
        self._waiting: deque[tuple[asyncio.Future[Any], Callable[..., Any], tuple]] = deque()
        self._worker: asyncio.Task[None] | None = None

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((future, fn, args))
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._serve())
        return await future

    async def _serve(self) -> None:
        try:
            turn_ends = time.perf_counter() + self.turn_seconds
            while self._waiting:
                future, fn, args = self._waiting.popleft()
                if future.done():  # the connection went away while it waited
                    continue
                try:
                    future.set_result(run_on_loop(fn, *args))
                except Exception as exc:  # noqa: BLE001 - handed to the caller
                    future.set_exception(exc)
                if time.perf_counter() >= turn_ends:
                    await asyncio.sleep(0)  # let the loop read, accept and answer
                    turn_ends = time.perf_counter() + self.turn_seconds
        finally:
            self._worker = None
