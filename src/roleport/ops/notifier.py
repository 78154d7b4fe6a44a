"""One evaluation of every enabled notification setting, and the delivery of its events.

A run (at the scheduler's interval, or ``roleport notifications run``):

1. reads every trust anchor and the subjects seen in the last day (all accounts, Regions);
2. evaluates them (:mod:`roleport.domain.expiry`) at the clock's ``now``;
3. claims each due event in the delivery log under (event key, UTC day): the unique key
   lets exactly one process of all workers and replicas claim it, and a restart finds
   it claimed, so nothing is sent twice on one day; the claimer sends it to every sink at
   once and marks the row delivered or failed (a claim is in flight for one delivery
   only, retries included: minutes at most);
4. sends claims that a dead process left pending (older than ``stale_after``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from roleport.clock import Clock
from roleport.domain import expiry
from roleport.ops.sinks import DeliveryFailed, Sink
from roleport.storage.sql.operations import SqlOperations

log = logging.getLogger("roleport.notifications")

#: a claim still pending after this long belongs to a process that died while sending
STALE_AFTER = timedelta(minutes=15)


@dataclass
class RunReport:
    due: int = 0
    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)


class Notifier:
    def __init__(self, operations: SqlOperations, sinks: Sequence[Sink], clock: Clock, *,
                 metrics: Any = None, new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
                 stale_after: timedelta = STALE_AFTER) -> None:
        self.operations = operations
        self.sinks = list(sinks)
        self.clock = clock
        self.metrics = metrics
        self.new_id = new_id
        self.stale_after = stale_after

    def due(self) -> list[tuple[expiry.Expiry, dict[str, Any]]]:
        """The events due now, without claiming or sending them (``--dry-run``)."""
        now = self.clock.now()
        anchors = self.operations.trust_anchors()
        subjects = self.operations.subjects_seen_since(now - expiry.RECENT)
        return [(e, expiry.eventbridge_event(e, event_id=self.new_id(), time=now))
                for e in expiry.evaluate(anchors, subjects, now)]

    def run_once(self) -> RunReport:
        report = RunReport()
        now = self.clock.now()
        day = expiry.delivery_day(now)
        for item, event in self.due():
            report.due += 1
            seq = self.operations.claim(item.key, day, event, now)
            if seq is not None:
                report.claimed += 1
                self._send(report, seq, event, 0)
        for stale in self.operations.pending(claimed_before=now - self.stale_after):
            self._send(report, stale.seq, stale.event, stale.attempts)
        if self.metrics is not None:
            self.metrics.notification_run_done(now.timestamp())
        if report.events:
            log.info("expiry notifications: %d due, %d sent, %d failed", report.due,
                     report.delivered, report.failed)
        return report

    def _send(self, report: RunReport, seq: int, event: dict[str, Any], attempts: int) -> None:
        ok = self._deliver(event)
        self.operations.finish(seq, "delivered" if ok else "failed", attempts + 1,
                               self.clock.now())
        report.delivered += ok
        report.failed += not ok
        report.events.append(event)

    def _deliver(self, event: dict[str, Any]) -> bool:
        ok = True
        for sink in self.sinks:
            try:
                sink.send(event)
                outcome = "delivered"
            except DeliveryFailed as exc:
                log.error("expiry notification %s not delivered to %s: %s", event.get("id"),
                          sink.name, exc)
                ok, outcome = False, "failed"
            if self.metrics is not None:
                self.metrics.notification_done(sink.name, outcome)
        return ok
