"""Expiry notifications on real storage (SQLite and PostgreSQL): leases, the once-a-day
delivery log, and the notifier with a webhook receiver that succeeds, fails then
recovers, or always fails (dead letter). Time is a clock the tests move."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest

from roleport.crypto import devpki
from roleport.domain import notifications
from roleport.domain.model import CredentialRecord, Subject, TrustAnchor
from roleport.ops.notifier import Notifier
from roleport.ops.scheduler import LeaderLoop
from roleport.ops.sinks import FileSink, WebhookSink
from roleport.storage.sql import engine, migrate
from roleport.storage.sql.operations import SqlOperations
from roleport.storage.sql.unit_of_work import SqlStore
from tests.notify_support import MovableClock, Receiver, own_postgres_database

SECRET = b"s3cret-webhook-key-never-logged"
NOW = datetime(2027, 5, 10, 9, 30, tzinfo=UTC)
ACCOUNT = "111122223333"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):  # noqa: ANN001, ANN201
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'notify.db'}"
        return
    with own_postgres_database(request.getfixturevalue("postgres_url")) as pg:
        yield pg


def _store(url: str) -> SqlStore:
    eng = engine.create(url, pool_size=2)
    migrate.upgrade(eng)
    return SqlStore(eng)


@pytest.fixture()
def store(url):  # noqa: ANN001, ANN201
    s = _store(url)
    yield s
    s.dispose()


@pytest.fixture()
def receiver():  # noqa: ANN201
    r = Receiver()
    yield r
    r.close()


def _seed(store: SqlStore) -> tuple[devpki.IssuedCertificate, devpki.IssuedCertificate]:
    """A trust anchor whose CA expires in 20 days and a leaf (30 days) used an hour ago."""
    ca = devpki.create_root_ca("Expiring CA", not_before=NOW - timedelta(days=300),
                               not_after=NOW + timedelta(days=20, hours=3))
    leaf = devpki.issue_leaf(ca, "agent-1", not_before=NOW - timedelta(days=1),
                             not_after=NOW + timedelta(days=30, hours=3))
    seen = NOW - timedelta(hours=1)
    with store(write=True) as uow:
        uow.trust_anchors.add(TrustAnchor(
            id="61f50cd4-45b9-4259-b049-d0a53682fa4b", account_id=ACCOUNT,
            region="us-west-1", name="ta", source_type="CERTIFICATE_BUNDLE",
            source_data={"x509CertificateData": ca.cert_pem}, enabled=True,
            crl_dp_revocation_enabled=False, notification_settings=notifications.defaults(),
            created_at=NOW, updated_at=NOW))
        uow.subjects.add(Subject(
            id="5f6c3a1e-0000-4000-8000-000000000001", account_id=ACCOUNT,
            region="us-west-1", x509_subject=leaf.cert.subject_dn, enabled=True,
            last_seen_at=seen, created_at=seen, updated_at=seen,
            credentials=[CredentialRecord(seen, leaf.cert.serial_decimal, ca.cert.subject_dn,
                                          True, leaf.cert_pem, False)]))
    return ca, leaf


def _webhook(receiver: Receiver, tmp_path, **options) -> WebhookSink:  # noqa: ANN001, ANN003
    options.setdefault("backoff", 0.01)
    return WebhookSink(receiver.url, SECRET, tmp_path / "dead.jsonl", **options)


class Counted:
    def __init__(self) -> None:
        self.done: list[tuple[str, str]] = []
        self.runs: list[float] = []

    def notification_done(self, sink: str, outcome: str) -> None:
        self.done.append((sink, outcome))

    def notification_run_done(self, timestamp: float) -> None:
        self.runs.append(timestamp)


def test_lease_has_one_holder_until_it_expires_or_is_released(store, url):
    other_store = _store(url)
    try:
        a, b = SqlOperations(store), SqlOperations(other_store)
        ttl = timedelta(seconds=60)
        assert a.acquire_lease("job", "a", NOW, ttl)
        assert not b.acquire_lease("job", "b", NOW + timedelta(seconds=30), ttl)
        assert a.acquire_lease("job", "a", NOW + timedelta(seconds=50), ttl)  # renewed
        assert not b.acquire_lease("job", "b", NOW + timedelta(seconds=100), ttl)
        assert b.acquire_lease("job", "b", NOW + timedelta(seconds=111), ttl)  # a expired
        assert not a.acquire_lease("job", "a", NOW + timedelta(seconds=112), ttl)
        b.release_lease("job", "b")
        assert a.acquire_lease("job", "a", NOW + timedelta(seconds=113), ttl)
    finally:
        other_store.dispose()


def test_webhook_gets_each_due_event_once_a_day_signed(store, receiver, tmp_path):
    ca, leaf = _seed(store)
    clock = MovableClock(NOW)
    metrics = Counted()
    notifier = Notifier(SqlOperations(store), [_webhook(receiver, tmp_path)], clock,
                        metrics=metrics)
    report = notifier.run_once()
    assert (report.due, report.claimed, report.delivered, report.failed) == (2, 2, 2, 0)
    ca_event, ee_event = receiver.events(SECRET)
    assert ca_event["resources"] == [f"arn:aws:rolesanywhere:us-west-1:{ACCOUNT}:trust-anchor/"
                                     "61f50cd4-45b9-4259-b049-d0a53682fa4b"]
    assert ca_event["detail"] == {"certificate-serial-number": ca.cert.serial_der_hex,
                                  "days-to-expiry": 20, "issuer": "CN=Expiring CA"}
    assert "resources" not in ee_event
    assert ee_event["detail"]["certificate-serial-number"] == leaf.cert.serial_der_hex
    assert ee_event["detail"]["days-to-expiry"] == 30
    headers = receiver.requests[0][0]
    assert headers["X-Roleport-Event-Id"] == ca_event["id"]
    assert headers["Content-Type"] == "application/json"

    clock.advance(hours=10)  # same UTC day: nothing again, from this process or a new one
    assert notifier.run_once().claimed == 0
    again = Notifier(SqlOperations(store), [_webhook(receiver, tmp_path)], clock)
    assert again.run_once().claimed == 0
    assert len(receiver.requests) == 2

    clock.advance(hours=15)  # the next day: the CA again (the leaf was not used since)
    assert notifier.run_once().delivered == 1
    assert receiver.events()[-1]["detail"]["days-to-expiry"] == 19
    assert metrics.done == [("webhook", "delivered")] * 3 and len(metrics.runs) == 3
    rows = SqlOperations(store).deliveries()
    assert [r["status"] for r in rows] == ["delivered"] * 3


def test_a_failing_webhook_is_retried_until_it_recovers(store, tmp_path):
    _seed(store)
    receiver = Receiver([503, 500, 200])
    try:
        slept: list[float] = []
        sink = _webhook(receiver, tmp_path, retries=4, backoff=0.5, sleep=slept.append)
        report = Notifier(SqlOperations(store), [sink], MovableClock(NOW)).run_once()
        assert (report.delivered, report.failed) == (2, 0)
        assert slept == [0.5, 1.0]  # exponential backoff before each retry
        bodies = [body for _, body in receiver.requests]
        assert len(bodies) == 4 and bodies[0] == bodies[1] == bodies[2]  # same event retried
        assert not (tmp_path / "dead.jsonl").exists()
    finally:
        receiver.close()


def test_an_always_failing_webhook_dead_letters_and_never_logs_the_secret(store, tmp_path,
                                                                          caplog):
    _seed(store)
    receiver = Receiver([500])
    caplog.set_level(logging.DEBUG)
    try:
        metrics = Counted()
        file_sink = FileSink(tmp_path / "events.jsonl")
        report = Notifier(SqlOperations(store), [_webhook(receiver, tmp_path, retries=2),
                                                 file_sink], MovableClock(NOW),
                          metrics=metrics).run_once()
        assert (report.delivered, report.failed) == (0, 2)
        assert len(receiver.requests) == 6  # 2 events x (1 + 2 retries)
        dead = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
        assert [d["event"]["id"] for d in dead] == [e["id"] for e in report.events]
        assert dead[0]["error"] == "HTTP 500" and dead[0]["attempts"] == 3
        assert (tmp_path / "dead.jsonl").stat().st_mode & 0o777 == 0o600
        # the other sink still got them
        assert len((tmp_path / "events.jsonl").read_text().splitlines()) == 2
        assert metrics.done.count(("webhook", "failed")) == 2
        assert metrics.done.count(("file", "delivered")) == 2
        assert [r["status"] for r in SqlOperations(store).deliveries()] == ["failed"] * 2
        text = caplog.text + (tmp_path / "dead.jsonl").read_text()
        assert "HTTP 500" in caplog.text and SECRET.decode() not in text
        assert SECRET.decode() not in repr(_webhook(receiver, tmp_path))
    finally:
        receiver.close()


def test_a_claim_left_pending_by_a_dead_process_is_sent_later_not_twice(store, receiver,
                                                                        tmp_path):
    _seed(store)
    ops = SqlOperations(store)
    clock = MovableClock(NOW)
    dying = Notifier(ops, [], clock)
    for item, event in dying.due():  # claimed, then the process "dies" before sending
        ops.claim(item.key, "2027-05-10", event, NOW)
    notifier = Notifier(ops, [_webhook(receiver, tmp_path)], clock)
    assert notifier.run_once().delivered == 0  # could still be in flight elsewhere
    clock.advance(minutes=20)
    report = notifier.run_once()
    assert (report.claimed, report.delivered) == (0, 2)
    clock.advance(minutes=20)
    assert notifier.run_once().delivered == 0
    assert len(receiver.requests) == 2


def test_replicas_racing_send_each_event_once(store, url, receiver, tmp_path):
    _seed(store)
    stores = [_store(url) for _ in range(4)]
    try:
        notifiers = [Notifier(SqlOperations(s), [_webhook(receiver, tmp_path)],
                              MovableClock(NOW)) for s in stores]
        barrier = threading.Barrier(len(notifiers))

        def run(n: Notifier) -> None:
            barrier.wait()
            n.run_once()

        threads = [threading.Thread(target=run, args=(n,)) for n in notifiers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        details = sorted(json.dumps(e["detail"]) for e in receiver.events(SECRET))
        assert len(details) == 2 and len(set(details)) == 2
    finally:
        for s in stores:
            s.dispose()


def test_only_the_lease_holder_runs_the_job(store, url):
    other = _store(url)
    try:
        runs: list[str] = []
        clock = MovableClock(NOW)
        loops = [LeaderLoop(SqlOperations(s), "job", lambda n=n: runs.append(n),
                            interval=3600, clock=clock, ttl=timedelta(seconds=60))
                 for n, s in (("a", store), ("b", other))]
        next_a = loops[0].tick(None)
        next_b = loops[1].tick(None)
        assert runs == ["a"] and next_b is None and loops[0].leader
        assert loops[0].tick(next_a) == next_a and runs == ["a"]  # not due again yet
        loops[0].stop()  # releases
        loops[1].tick(None)
        assert runs == ["a", "b"]
    finally:
        other.dispose()


def test_inventory_gauges_read_expiry_and_crl_freshness_from_the_database(store):
    from roleport.domain.model import Crl
    from roleport.ops.inventory import InventoryCollector

    ca, leaf = _seed(store)
    crl = devpki.create_crl(ca, last_update=NOW - timedelta(hours=30),
                            next_update=NOW - timedelta(hours=6))
    with store(write=True) as uow:
        uow.crls.add(Crl(id="c0000000-0000-4000-8000-000000000001", account_id=ACCOUNT,
                         region="us-west-1",
                         trust_anchor_id="61f50cd4-45b9-4259-b049-d0a53682fa4b", name="crl",
                         enabled=True, crl_data=crl.der, created_at=NOW, updated_at=NOW))
    families = {f.name: f for f in InventoryCollector(SqlOperations(store),
                                                      MovableClock(NOW)).collect()}
    [up] = families["roleport_inventory_up"].samples
    assert up.value == 1
    [ca_sample] = families["roleport_trust_anchor_certificate_days_to_expiry"].samples
    assert ca_sample.labels["serial"] == ca.cert.serial_der_hex
    assert ca_sample.value == pytest.approx(20.125)
    [ee] = families["roleport_end_entity_certificate_days_to_expiry"].samples
    assert ee.labels["subject"] == "CN=agent-1" and ee.value == pytest.approx(30.125)
    [age] = families["roleport_crl_age_seconds"].samples
    assert age.value == 30 * 3600 and age.labels["crl"].startswith("c0000000")
    [stale] = families["roleport_crl_next_update_seconds"].samples
    assert stale.value == -6 * 3600


def test_inventory_reports_a_database_that_does_not_answer(tmp_path):
    from roleport.ops.inventory import InventoryCollector

    broken = SqlStore(engine.create(f"sqlite:///{tmp_path / 'never-migrated.db'}"))
    try:
        families = list(InventoryCollector(SqlOperations(broken), MovableClock(NOW)).collect())
        assert [(f.name, f.samples[0].value) for f in families] == [("roleport_inventory_up", 0)]
    finally:
        broken.dispose()
