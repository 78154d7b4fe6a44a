"""Where expiry events go: a webhook, a JSON-lines file, stdout.

Webhook: ``POST`` of the event JSON (``Content-Type: application/json``) with

* ``X-Roleport-Timestamp``: Unix seconds of this attempt;
* ``X-Roleport-Signature``: ``sha256=`` + hex HMAC-SHA256 of ``<timestamp>.<body>`` under
  the configured secret (a receiver recomputes it and rejects old timestamps, so a
  captured request cannot be replayed later);
* ``X-Roleport-Event-Id``: the event's ``id`` (the same across retries: deduplicate on it).

A 2xx answer delivers; anything else (or no answer within the timeout) is retried after
``backoff * 2**n`` seconds, ``retries`` times; after the last, the event goes to the
dead-letter JSON-lines file with the last error. The secret is never logged or written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from roleport import __version__

log = logging.getLogger("roleport.notifications")

SIGNATURE_HEADER = "X-Roleport-Signature"
TIMESTAMP_HEADER = "X-Roleport-Timestamp"
EVENT_ID_HEADER = "X-Roleport-Event-Id"


class DeliveryFailed(Exception):
    """A sink could not take the event (after its retries)."""


class Sink(Protocol):
    name: str

    def send(self, event: dict[str, Any]) -> None:
        """Deliver ``event`` or raise :class:`DeliveryFailed`."""


def event_json(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), sort_keys=False).encode()


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Roleport-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: bytes, timestamp: str, body: bytes, signature: str, *,
           now: float | None = None, tolerance: float = 300) -> bool:
    """What a receiver does: constant-time compare, and a timestamp within ``tolerance``."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


class _JsonLines:
    """Append one JSON object per line (a line at a time, under a lock), to a file created
    0600 like every file of the data dir."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as out:
                out.write(line)


class FileSink:
    name = "file"

    def __init__(self, path: Path) -> None:
        self._lines = _JsonLines(path)

    def send(self, event: dict[str, Any]) -> None:
        try:
            self._lines.append(event)
        except OSError as exc:
            raise DeliveryFailed(f"cannot write {self._lines.path}: {exc.strerror}") from None


class StdoutSink:
    name = "stdout"

    def send(self, event: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
        sys.stdout.flush()


@dataclass
class WebhookSink:
    url: str
    secret: bytes
    dead_letter: Path
    retries: int = 5
    backoff: float = 1.0
    timeout: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time

    name = "webhook"

    def __post_init__(self) -> None:
        self._dead = _JsonLines(self.dead_letter)

    def __repr__(self) -> str:  # never the secret
        return f"WebhookSink(url={self.url!r}, retries={self.retries})"

    def _post(self, body: bytes, event_id: str) -> None:
        timestamp = str(int(self.clock()))
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json",
            "User-Agent": f"Roleport/{__version__} (expiry notifications)",
            TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(self.secret, timestamp, body),
            EVENT_ID_HEADER: event_id})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read(65536)
        except urllib.error.HTTPError as exc:
            raise DeliveryFailed(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryFailed(f"unreachable ({reason})") from None

    def send(self, event: dict[str, Any]) -> None:
        body = event_json(event)
        event_id = str(event.get("id", ""))
        error = "not attempted"
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                self._post(body, event_id)
                return
            except DeliveryFailed as exc:
                error = str(exc)
                log.warning("notification webhook attempt %d of %d failed: %s (event %s)",
                            attempt + 1, self.retries + 1, error, event_id)
        failed_at = datetime.fromtimestamp(self.clock(), timezone.utc)
        self._dead.append({"failedAt": failed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "url": self.url, "attempts": self.retries + 1, "error": error,
                           "event": event})
        raise DeliveryFailed(f"webhook {self.url}: {error} after {self.retries + 1} "
                             f"attempts; written to {self.dead_letter}")
