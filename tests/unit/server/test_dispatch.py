"""LoopQueue: requests on the event loop, one per turn, in arrival order."""

from __future__ import annotations

import asyncio

import pytest

from roleport.offload import MoveToThread, network_wait
from roleport.server.dispatch import LoopQueue


def test_calls_run_in_arrival_order_one_per_turn_of_the_loop() -> None:
    events: list[str] = []

    async def main() -> list[object]:
        queue = LoopQueue(turn_seconds=0)

        async def ticker() -> None:  # stands for the loop's own work: reading sockets
            for _ in range(6):
                events.append("tick")
                await asyncio.sleep(0)

        def work(name: str) -> str:
            events.append(name)
            return name.upper()

        tick = asyncio.create_task(ticker())
        results = await asyncio.gather(*(queue.run(work, n) for n in "abc"))
        await tick
        return results

    assert asyncio.run(main()) == ["A", "B", "C"]
    calls = [e for e in events if e != "tick"]
    assert calls == ["a", "b", "c"]
    # the loop got a turn between two calls: no two calls are adjacent
    positions = [events.index(c) for c in calls]
    gaps = [b - a for a, b in zip(positions, positions[1:], strict=False)]
    assert all(gap > 1 for gap in gaps)


def test_exceptions_reach_the_caller_and_the_queue_goes_on() -> None:
    async def main() -> tuple[str, str]:
        queue = LoopQueue()

        def fetch() -> str:
            network_wait("a CRL distribution point")  # on the loop: must move
            return "never"

        moved = queue.run(fetch)
        after = queue.run(lambda: "served")
        results = await asyncio.gather(moved, after, return_exceptions=True)
        assert isinstance(results[0], MoveToThread)
        return "moved", results[1]

    assert asyncio.run(main()) == ("moved", "served")


def test_a_caller_that_went_away_is_skipped() -> None:
    calls: list[str] = []

    async def main() -> str:
        queue = LoopQueue()
        first = asyncio.ensure_future(queue.run(calls.append, "first"))
        gone = asyncio.ensure_future(queue.run(calls.append, "gone"))
        await asyncio.sleep(0)  # both are queued
        gone.cancel()
        await first
        with pytest.raises(asyncio.CancelledError):
            await gone
        return await queue.run(lambda: "again")  # the queue starts again when empty

    assert asyncio.run(main()) == "again"
    assert calls == ["first"]
