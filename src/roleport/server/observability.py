"""Structured logs (JSON lines via structlog) and Prometheus metrics."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterable
from typing import Any

import structlog
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)


def configure_logging(level: str = "info") -> None:
    """JSON lines on stderr for Roleport's own logs and the standard library's."""
    processors = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(),
    ]
    structlog.configure(processors=processors,
                        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
                        cache_logger_on_first_use=True)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processor=structlog.processors.JSONRenderer(),
        foreign_pre_chain=[structlog.processors.add_log_level,
                           structlog.processors.TimeStamper(fmt="iso", utc=True),
                           structlog.stdlib.ExtraAdder(),
                           structlog.processors.format_exc_info]))
    root = logging.getLogger("roleport")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def multiprocess_dir() -> str | None:
    """The directory of prometheus-client's multiprocess mode, when ``serve`` set it up."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """The server's Prometheus metrics (names and labels: docs/operations.md#metrics).

    With several workers every worker writes its values to files in the private directory
    ``serve`` made (prometheus-client's multiprocess mode) and a scrape, answered by any
    worker, sums them all. The ``*_done`` methods keep each label combination's child, so
    a request does not look its labels up again. ``inventory``: a collector of what the
    database holds (certificate expiry, CRL ages), asked at scrape time.
    """

    def __init__(self, inventory: Any = None) -> None:
        self.registry = CollectorRegistry()
        self.inventory = inventory
        self.requests = Counter("roleport_requests", "Requests handled",
                                ["service", "operation", "status"], registry=self.registry)
        self.latency = Histogram("roleport_request_seconds", "Request latency",
                                 ["service", "operation"], registry=self.registry,
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5))
        self.sessions = Counter("roleport_create_session",
                                "CreateSession outcomes by the check that refused (reason), "
                                "trust anchor and profile",
                                ["outcome", "reason", "trust_anchor", "profile"],
                                registry=self.registry)
        self.leniencies = Counter("roleport_signing_leniency",
                                  "CreateSession requests accepted through a leniency",
                                  ["leniency"], registry=self.registry)
        self.log_dropped = Counter("roleport_log_dropped",
                                   "Log lines dropped because the log's buffer was full",
                                   ["log"], registry=self.registry)
        self.crl_fetches = Counter("roleport_crl_fetch",
                                   "CRL distribution point fetches (crlDpRevocationEnabled)",
                                   ["outcome"], registry=self.registry)
        self.notifications = Counter("roleport_notifications",
                                     "Expiry notification deliveries, per sink",
                                     ["sink", "outcome"], registry=self.registry)
        self.notification_run = Gauge("roleport_notification_last_run_timestamp_seconds",
                                      "When the expiry notification evaluation last ran",
                                      registry=self.registry, multiprocess_mode="max")
        if inventory is not None:
            self.registry.register(inventory)
        self._children: dict[tuple[str, ...], tuple[Any, ...]] = {}

    def exposition(self) -> bytes:
        """The text a scrape gets: all workers' values, and the inventory."""
        return generate_latest(scrape_registry(self.registry, self.inventory))

    def request_done(self, service: str, operation: str, status: int, seconds: float) -> None:
        key = ("request", service, operation, str(status))
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(service, operation, str(status)),
                self.latency.labels(service, operation))
        children[0].inc()
        children[1].observe(seconds)

    def session_done(self, outcome: str, check: str | None, leniencies: Iterable[str],
                     trust_anchor: str = "unknown", profile: str = "unknown") -> None:
        key = ("session", outcome, check or "none", trust_anchor, profile)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.sessions.labels(outcome, check or "none", trust_anchor, profile),)
        children[0].inc()
        for leniency in sorted(leniencies):
            self.leniencies.labels(leniency).inc()

    def crl_fetch_done(self, outcome: str) -> None:
        self.crl_fetches.labels(outcome).inc()

    def notification_done(self, sink: str, outcome: str) -> None:
        self.notifications.labels(sink, outcome).inc()

    def notification_run_done(self, timestamp: float) -> None:
        self.notification_run.set(timestamp)


class Seconds:
    """Formatting a timestamp costs more than the rest of a log line: the part up to the
    second is formatted once per second."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.second = -1
        self.text = ""

    def __call__(self, now: float) -> str:
        second = int(now)
        if second != self.second:
            self.text = time.strftime(self.pattern, time.gmtime(second))
            self.second = second
        return self.text


_iso_seconds = Seconds("%Y-%m-%dT%H:%M:%S")
#: one encoder for every line (``json.dumps(..., default=...)`` builds one per call)
_ENCODER = json.JSONEncoder(default=str)


def now_iso(now: float | None = None) -> str:
    """The log lines' timestamp, as structlog's ``TimeStamper(fmt="iso", utc=True)``
    writes it (``2026-12-07T16:30:00.123456Z``)."""
    now = time.time() if now is None else now
    return f"{_iso_seconds(now)}.{int(now % 1 * 1_000_000):06d}Z"


def log_line(event: str, fields: dict[str, Any], level: str = "info") -> bytes:
    """One JSON log line in the shape of Roleport's structlog lines, serialised here so
    the background writer only writes bytes."""
    fields["event"] = event
    fields["level"] = level
    fields["timestamp"] = now_iso()
    return (_ENCODER.encode(fields) + "\n").encode()


def scrape_registry(own: CollectorRegistry, inventory: Any = None) -> CollectorRegistry:
    """``own`` in one process; in multiprocess mode a registry summing every worker's
    files (and ``inventory``, asked in the process answering)."""
    path = multiprocess_dir()
    if path is None:
        return own
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)
    if inventory is not None:
        registry.register(inventory)
    return registry


def enable_multiprocess(path: str) -> None:
    """Switch prometheus-client to multiprocess mode, writing under ``path`` (before any
    metric is made; ``serve`` does it before forking its workers)."""
    from prometheus_client import values

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    values.ValueClass = values.MultiProcessValue()


def worker_exited(pid: int) -> None:
    """Forget a dead worker's live gauges (its counters stay in the sums)."""
    path = multiprocess_dir()
    if path is not None:
        multiprocess.mark_process_dead(pid, path)
