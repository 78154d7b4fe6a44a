"""Short-lived copies: retired by a change made here, or by time for changes elsewhere."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from roleport.domain.freshness import ChangeCounter, Kept, NotifyingStore


def test_kept_values_are_reused_until_a_change():
    changes = ChangeCounter()
    kept = Kept(changes, timedelta(seconds=60))
    reads = []

    def read():  # noqa: ANN202
        reads.append(1)
        return len(reads)

    assert kept.get("k", read) == 1
    assert kept.get("k", read) == 1
    changes.bump()
    assert kept.get("k", read) == 2
    assert len(reads) == 2


def test_kept_values_expire():
    kept = Kept(ChangeCounter(), timedelta(seconds=0.05))
    values = iter(range(10))
    first = kept.get("k", lambda: next(values))
    time.sleep(0.06)
    assert kept.get("k", lambda: next(values)) == first + 1


def test_keep_predicate_refuses_to_keep():
    kept = Kept(ChangeCounter(), timedelta(seconds=60))
    values = iter([None, "found"])
    assert kept.get("k", lambda: next(values), keep=lambda v: v is not None) is None
    assert kept.get("k", lambda: next(values), keep=lambda v: v is not None) == "found"


class FakeUow:
    def __enter__(self):  # noqa: ANN204
        return self

    def __exit__(self, *exc):  # noqa: ANN002, ANN204
        return None


def test_notifying_store_bumps_only_after_a_committed_write():
    changes = ChangeCounter()
    store = NotifyingStore(lambda write=False: FakeUow(), changes)
    with store():
        pass
    assert changes.value == 0
    with store(write=True):
        pass
    assert changes.value == 1
    with pytest.raises(RuntimeError), store(write=True):
        raise RuntimeError("rolled back")
    assert changes.value == 1
