"""Token buckets (fake clock) and the failed-authentication throttle built on them."""

from __future__ import annotations

import threading

import pytest

from roleport.errors import ThrottlingError
from roleport.server.auth_throttle import FailedAuthThrottle, source_key
from roleport.server.ratelimit import Rate, TokenBuckets


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_its_rate():
    clock = FakeClock()
    buckets = TokenBuckets(Rate(per_second=2, burst=3), clock=clock)
    assert [buckets.take("k") for _ in range(4)] == [True, True, True, False]
    assert buckets.empty("k") and buckets.seconds_until_token("k") == pytest.approx(0.5)
    clock.now += 0.49
    assert not buckets.take("k")
    clock.now += 0.01
    assert buckets.take("k") and not buckets.take("k")
    clock.now += 100  # never more than the burst
    assert [buckets.take("k") for _ in range(4)] == [True, True, True, False]


def test_buckets_are_per_key_and_a_refused_event_takes_nothing():
    clock = FakeClock()
    buckets = TokenBuckets(Rate(per_second=1, burst=1), clock=clock)
    assert buckets.take("a") and not buckets.take("a") and not buckets.take("a")
    assert buckets.take("b")
    clock.now += 1.0  # the refused attempts did not dig a deeper hole
    assert buckets.take("a")


def test_unknown_keys_are_full_and_the_number_of_keys_is_bounded():
    clock = FakeClock()
    buckets = TokenBuckets(Rate(per_second=1, burst=1), clock=clock, max_keys=2)
    assert not buckets.empty("never-seen") and buckets.seconds_until_token("x") == 0
    for key in ("a", "b", "c"):
        assert buckets.take(key)
    assert len(buckets._buckets) == 2
    assert buckets.take("a")  # forgotten, so full again; "b" and "c" still empty
    assert not buckets.take("c")


def test_threads_share_the_buckets_without_losing_counts():
    buckets = TokenBuckets(Rate(per_second=1e-9, burst=1000))
    allowed = []

    def worker() -> None:
        allowed.extend(buckets.take("k") for _ in range(200))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 1000


def test_a_rate_without_refill_or_burst_is_refused():
    for per_second, burst in ((0, 1), (1, 0), (-1, 5)):
        with pytest.raises(ValueError):
            Rate(per_second, burst)


@pytest.mark.parametrize("address,key", [
    ("192.0.2.7", "192.0.2.7"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    ("not-an-address", "not-an-address"),
])
def test_sources_count_by_address_and_ipv6_by_its_64(address, key):
    assert source_key(address) == key


def _throttle() -> tuple[FailedAuthThrottle, FakeClock]:
    clock = FakeClock()
    return FailedAuthThrottle(Rate(per_second=1, burst=2), clock=clock), clock


def test_wrong_secrets_from_one_source_throttle_everything_from_it():
    throttle, clock = _throttle()
    throttle.check_source("192.0.2.1")
    throttle.failed("192.0.2.1", "AKIA1", "signature")
    throttle.failed("192.0.2.1", "AKIA2", "unknown-key")
    with pytest.raises(ThrottlingError) as exc:
        throttle.failed("192.0.2.1", "AKIA3", "invalid-token")
    assert exc.value.code == "ThrottlingException" and exc.value.status == 429
    assert exc.value.fields["retryAfterSeconds"] == 1
    with pytest.raises(ThrottlingError):
        throttle.check_source("192.0.2.1")  # a correct signature too
    throttle.check_source("192.0.2.2")
    clock.now += 1.0
    throttle.check_source("192.0.2.1")


def test_wrong_secrets_for_one_key_are_throttled_from_any_source():
    throttle, _ = _throttle()
    throttle.failed("192.0.2.1", "AKIA1", "signature")
    throttle.failed("192.0.2.2", "AKIA1", "signature")
    with pytest.raises(ThrottlingError):
        throttle.failed("192.0.2.3", "AKIA1", "signature")
    throttle.check_source("192.0.2.3")  # the key, not the new source, is throttled
    throttle.failed("192.0.2.4", "AKIA2", "signature")


def test_failures_that_are_no_guess_are_not_counted():
    throttle, _ = _throttle()
    for kind in ("missing", "incomplete", "expired-signature", "scope", "not-authorized"):
        for _ in range(5):
            throttle.failed("192.0.2.1", "AKIA1", kind)
    throttle.check_source("192.0.2.1")
