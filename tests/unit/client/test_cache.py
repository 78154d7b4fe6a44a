"""The refresh-ahead cache behind ``serve``: never empty or expired credentials, the
last good ones kept while a refresh fails, backoff instead of hammering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from roleport.client.cache import CredentialsUnavailableError, RefreshingCredentials
from roleport.client.credentials import SessionCredentials, format_time
from roleport.client.errors import ServiceError


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC).timestamp()

    def __call__(self) -> float:
        return self.now


class Fetch:
    """A CreateSession stand-in: fails while ``error`` is set."""

    def __init__(self, clock: Clock, lifetime: int = 900) -> None:
        self.clock, self.lifetime, self.calls, self.error = clock, lifetime, 0, None

    def __call__(self) -> SessionCredentials:
        self.calls += 1
        if self.error is not None:
            raise self.error
        start = datetime.fromtimestamp(self.clock.now, UTC)
        return SessionCredentials(f"ASIA{self.calls}", "secret", "token",
                                  format_time(start + timedelta(seconds=self.lifetime)),
                                  obtained_at=start)


@pytest.fixture()
def clock() -> Clock:
    return Clock()


def test_first_fetch_failure_is_an_error_with_the_reason_not_empty_credentials(clock) -> None:
    fetch = Fetch(clock)
    fetch.error = ServiceError("CreateSession refused (HTTP 403): Untrusted signing certificate")
    cache = RefreshingCredentials(fetch, now=clock)
    cache.refresh()
    with pytest.raises(CredentialsUnavailableError, match="Untrusted signing certificate"):
        cache.get()


def test_credentials_are_refreshed_ahead_of_expiry(clock) -> None:
    fetch = Fetch(clock)
    cache = RefreshingCredentials(fetch, refresh_ahead=300, now=clock)
    first = cache.get()
    assert first.access_key_id == "ASIA1"
    clock.now += 500
    assert cache.get() is first  # 400 s left: not due yet
    clock.now += 150  # 250 s left: due
    assert cache.get().access_key_id == "ASIA2"


def test_last_good_credentials_are_served_while_refresh_fails_then_an_error(clock) -> None:
    fetch = Fetch(clock)
    cache = RefreshingCredentials(fetch, refresh_ahead=300, now=clock)
    good = cache.get()
    fetch.error = ServiceError("CreateSession refused (HTTP 403): profile is disabled")
    clock.now += 700
    assert cache.get() is good
    assert "profile is disabled" in cache.last_error.message
    clock.now += 300  # past the expiration
    with pytest.raises(CredentialsUnavailableError) as caught:
        cache.get()
    assert "expired" in caught.value.message and "profile is disabled" in caught.value.message


def test_failures_back_off_exponentially_up_to_the_cap(clock) -> None:
    fetch = Fetch(clock)
    fetch.error = ServiceError("down")
    cache = RefreshingCredentials(fetch, retry_min=1, retry_max=8, now=clock)
    delays = []
    for _ in range(6):
        cache.refresh()
        delays.append(cache._due_at() - clock.now)
    assert delays == [1, 2, 4, 8, 8, 8]
    calls = fetch.calls
    with pytest.raises(CredentialsUnavailableError):
        cache.get()  # not due yet: no extra CreateSession
    assert fetch.calls == calls


def test_recovers_after_failures(clock) -> None:
    fetch = Fetch(clock)
    fetch.error = ServiceError("down")
    cache = RefreshingCredentials(fetch, now=clock)
    cache.refresh()
    fetch.error = None
    clock.now += 1
    assert cache.get().access_key_id == "ASIA2"
    assert cache.last_error is None and cache.status()["valid"] is True


def test_background_thread_refreshes_and_stops() -> None:
    import threading

    done = threading.Event()
    calls = []

    def fetch() -> SessionCredentials:
        calls.append(1)
        if len(calls) >= 2:
            done.set()
        now = datetime.now(UTC)
        return SessionCredentials("ASIA", "s", "t", format_time(now + timedelta(seconds=900)),
                                  obtained_at=now)

    cache = RefreshingCredentials(fetch, refresh_ahead=900, min_interval=0.05).start()
    try:
        assert done.wait(5)
    finally:
        cache.stop()
    assert cache.get().access_key_id == "ASIA"
