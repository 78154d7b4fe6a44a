"""Credentials kept fresh ahead of expiry, for ``serve`` (and anything long-running).

:class:`RefreshingCredentials` fetches credentials once, then refreshes them in a
background thread ``refresh_ahead`` seconds before they expire. What it promises, unlike
the official helper's ``serve`` (clients.md §1.7):

* :meth:`~RefreshingCredentials.get` never returns empty or expired credentials: while a
  refresh fails it returns the last good ones until they expire, then raises
  :class:`CredentialsUnavailableError` with the reason of the last failure;
* failures are retried with exponential backoff (1 s doubling to 60 s), never once per
  incoming request;
* requests never wait for CreateSession: the refresh happens in the background;
* the schedule follows the wall clock, in steps of at most 30 s, so a suspended laptop
  refreshes as soon as it wakes up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from roleport.client.credentials import SessionCredentials, format_time
from roleport.client.errors import ClientError

__all__ = ["CredentialsUnavailableError", "RefreshingCredentials"]


class CredentialsUnavailableError(ClientError):
    """No valid credentials to hand out; ``message`` says why."""

    exit_code = 5


class RefreshingCredentials:
    """Refresh-ahead cache around ``fetch`` (a CreateSession call)."""

    def __init__(self, fetch: Callable[[], SessionCredentials], *, refresh_ahead: float = 300.0,
                 retry_min: float = 1.0, retry_max: float = 60.0, min_interval: float = 1.0,
                 log: Callable[[str], None] | None = None,
                 now: Callable[[], float] = time.time) -> None:
        self._fetch = fetch
        self.refresh_ahead = refresh_ahead
        self.retry_min = retry_min
        self.retry_max = retry_max
        self.min_interval = min_interval
        self._log = log or (lambda line: None)
        self._now = now
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._current: SessionCredentials | None = None
        self._last_error: ClientError | None = None
        self._failures = 0
        self._next_retry = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh_count = 0

    # -- reading ---------------------------------------------------------------------------

    def _valid(self, creds: SessionCredentials | None) -> bool:
        return creds is not None and creds.expires_at.timestamp() > self._now()

    def get(self) -> SessionCredentials:
        """Valid credentials, or CredentialsUnavailableError. Never blocks on CreateSession when
        the background thread runs."""
        with self._lock:
            creds = self._current
        if self._thread is None and self._due():
            self.refresh()
            with self._lock:
                creds = self._current
        if self._valid(creds):
            assert creds is not None
            return creds
        with self._lock:
            error = self._last_error
        if creds is not None:
            reason = f"the credentials expired at {creds.expiration}"
            if error is not None:
                reason += f" and refreshing them failed: {error.message}"
        elif error is not None:
            reason = f"no credentials could be obtained: {error.message}"
        else:
            reason = "no credentials have been obtained yet"
        raise CredentialsUnavailableError(reason)

    @property
    def last_error(self) -> ClientError | None:
        return self._last_error

    @property
    def current(self) -> SessionCredentials | None:
        """The last good credentials, possibly expired (for status pages)."""
        return self._current

    # -- refreshing ------------------------------------------------------------------------

    def _due_at(self) -> float:
        """When the next fetch should happen (epoch seconds)."""
        with self._lock:
            creds, failures, next_retry = self._current, self._failures, self._next_retry
        if failures:
            return next_retry
        if creds is None:
            return 0.0
        ahead = creds.expires_at.timestamp() - self.refresh_ahead
        return max(ahead, creds.obtained_at.timestamp() + self.min_interval)

    def _due(self) -> bool:
        return self._now() >= self._due_at()

    def refresh(self) -> bool:
        """Fetch now; True on success. Failures are recorded, not raised."""
        with self._refreshing:
            try:
                creds = self._fetch()
            except ClientError as exc:
                self._failed(exc)
                return False
            except Exception as exc:  # noqa: BLE001 - keep serving whatever went wrong
                self._failed(ClientError(f"unexpected error: {type(exc).__name__}: {exc}"))
                return False
            with self._lock:
                self._current = creds
                self._last_error = None
                self._failures = 0
                self.refresh_count += 1
            self._log(f"credentials refreshed; they expire at {creds.expiration}")
            return True

    def _failed(self, exc: ClientError) -> None:
        with self._lock:
            self._last_error = exc
            self._failures += 1
            delay = min(self.retry_max, self.retry_min * 2 ** (self._failures - 1))
            self._next_retry = self._now() + delay
            current = self._current
        if self._valid(current):
            assert current is not None
            self._log(f"refreshing credentials failed: {exc.message}; still serving the "
                      f"current ones (valid until {current.expiration}); retrying in "
                      f"{delay:.0f} s")
        else:
            self._log(f"obtaining credentials failed: {exc.message}; retrying in {delay:.0f} s")

    # -- background ------------------------------------------------------------------------

    def start(self) -> RefreshingCredentials:
        """First fetch now (a failure is logged and retried), then refresh in the
        background."""
        self.refresh()
        self._thread = threading.Thread(target=self._run, name="roleport-refresh", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self._due_at() - self._now()
            if wait > 0:
                self._stop.wait(min(wait, 30.0))
                continue
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def status(self) -> dict[str, object]:
        """What a status page shows (no secrets)."""
        creds, error = self._current, self._last_error
        return {
            "valid": self._valid(creds),
            "expiration": creds.expiration if creds else None,
            "lastRefresh": format_time(creds.obtained_at) if creds else None,
            "lastError": error.message if error else None,
            "nextRefresh": format_time(datetime.fromtimestamp(self._due_at(), UTC)),
        }
