"""Metrics of what the database holds, read when Prometheus scrapes (kept a few seconds):
days to expiry of every trust-anchor CA certificate and of the end-entity certificates
seen in the last day, and the age and freshness of every imported CRL.

Label cardinality is bounded by what exists: CA series by the trust anchors (quota: 50
per account and Region, 2 certificates each), end-entity series by ``end_entity_limit``
(the soonest-expiring certificates seen in the last day), CRL series by the CRLs (2 per
trust anchor). Only enabled trust anchors and CRLs are shown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from roleport.clock import Clock
from roleport.crypto.crls import load_crl
from roleport.crypto.errors import CryptoError
from roleport.domain import expiry
from roleport.storage.base import StorageError
from roleport.storage.sql.operations import SqlOperations

DAY = 86400.0


class InventoryCollector(Collector):
    def __init__(self, operations: SqlOperations, clock: Clock, *, end_entity_limit: int = 100,
                 cache_seconds: float = 10.0) -> None:
        self.operations = operations
        self.clock = clock
        self.end_entity_limit = end_entity_limit
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, list[Any]] | None = None
        self._lock = threading.Lock()

    def describe(self) -> list[Any]:
        return []  # read at scrape time only: nothing to check at registration

    def collect(self) -> Iterator[Any]:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > self.cache_seconds:
                self._cached = (time.monotonic(), self._families())
            families = self._cached[1]
        yield from families

    def _families(self) -> list[Any]:
        up = GaugeMetricFamily("roleport_inventory_up",
                               "1 when the database answered the last inventory read")
        try:
            families = self._read()
        except StorageError:
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *families]

    def _read(self) -> list[Any]:
        now = self.clock.now()
        scope = ["account", "region", "trust_anchor"]
        ca = GaugeMetricFamily("roleport_trust_anchor_certificate_days_to_expiry",
                               "Days until each CA certificate of an enabled trust anchor "
                               "expires (negative: expired)", labels=[*scope, "serial"])
        ee = GaugeMetricFamily("roleport_end_entity_certificate_days_to_expiry",
                               "Days until each end-entity certificate that authenticated "
                               "in the last day expires (the soonest, up to the limit)",
                               labels=["account", "region", "serial", "subject"])
        age = GaugeMetricFamily("roleport_crl_age_seconds",
                                "Seconds since the thisUpdate of each enabled imported CRL",
                                labels=[*scope, "crl"])
        fresh = GaugeMetricFamily("roleport_crl_next_update_seconds",
                                  "Seconds until the nextUpdate of each enabled imported CRL "
                                  "(negative: stale)", labels=[*scope, "crl"])
        anchors = [a for a in self.operations.trust_anchors() if a.enabled]
        for anchor in anchors:
            for cert in expiry.bundle_of(anchor):
                ca.add_metric([anchor.account_id, anchor.region, anchor.id,
                               cert.serial_der_hex],
                              (cert.not_after - now).total_seconds() / DAY)
        subjects = self.operations.subjects_seen_since(now - expiry.RECENT)
        recent = sorted(expiry.recent_certificates(subjects, now),
                        key=lambda found: found[1].not_after)[:self.end_entity_limit]
        for subject, cert in recent:
            ee.add_metric([subject.account_id, subject.region, cert.serial_der_hex,
                           cert.subject_dn], (cert.not_after - now).total_seconds() / DAY)
        enabled = {a.id for a in anchors}
        for crl in self.operations.crls():
            if crl.trust_anchor_id not in enabled:
                continue
            try:
                parsed = load_crl(crl.crl_data)
            except CryptoError:
                continue
            labels = [crl.account_id, crl.region, crl.trust_anchor_id, crl.id]
            age.add_metric(labels, (now - parsed.last_update).total_seconds())
            if parsed.next_update is not None:
                fresh.add_metric(labels, (parsed.next_update - now).total_seconds())
        return [ca, ee, age, fresh]
