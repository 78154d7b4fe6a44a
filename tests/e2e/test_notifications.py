"""Expiry notifications through real ``roleport serve`` processes: the scheduler of a
2-worker server sends each due event once (not again after a restart), ``roleport
notifications run`` evaluates on demand, and of two replicas on one PostgreSQL only one
sends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx

from roleport.crypto import devpki
from roleport.testing import RoleportServer
from tests.notify_support import Receiver, own_postgres_database

SECRET = "e2e-webhook-secret-not-in-any-log"
ENV = {"ROLEPORT_NOTIFY_WEBHOOK_SECRET": SECRET}


def _args(receiver: Receiver, *extra: str) -> list[str]:
    return ["--notify-webhook", receiver.url, "--notify-interval", "1",
            "--notify-webhook-backoff", "0.05", "--no-access-log", *extra]


def _seed(srv: RoleportServer) -> tuple[object, devpki.IssuedCertificate]:
    """A Roles Anywhere setup whose client certificate (30 days) authenticates once, and a
    second trust anchor whose CA expires in 20 days: one event of each kind is due."""
    setup = srv.setup_roles_anywhere()
    setup.credentials()
    now = datetime.now(UTC)
    ca = devpki.create_root_ca("Soon Expiring CA", not_before=now - timedelta(days=300),
                               not_after=now + timedelta(days=20, hours=6))
    srv.client("rolesanywhere", setup.account).create_trust_anchor(
        name="expiring", enabled=True, source={
            "sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": ca.cert_pem}})
    return setup, ca


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(predicate, timeout: float = 60.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def _last_run(srv: RoleportServer) -> float:
    text = httpx.get(srv.endpoint + "/_roleport/metrics").text
    for line in text.splitlines():
        if line.startswith("roleport_notification_last_run_timestamp_seconds "):
            return float(line.split()[1])
    return 0.0


def test_a_server_sends_each_due_event_once_even_across_a_restart(tmp_path):
    receiver = Receiver()
    try:
        srv = RoleportServer(tmp_path / "data", http=True, env=ENV,
                             extra_args=_args(receiver, "--workers", "2"))
        with srv:
            assert f"expiry notifications every 1 s to webhook {receiver.url}" in \
                "".join(srv.output)
            setup, ca = _seed(srv)
            _wait_for(lambda: len(receiver.requests) >= 2)
            time.sleep(3)  # several more ticks of both workers' schedulers
            events = receiver.events(SECRET.encode())
            assert len(events) == 2
            by_kind = {"resources" in e: e for e in events}
            assert by_kind[True]["detail"] == {
                "certificate-serial-number": ca.cert.serial_der_hex, "days-to-expiry": 20,
                "issuer": "CN=Soon Expiring CA"}
            leaf = setup.client_certificate.certificate
            assert by_kind[False]["detail"]["certificate-serial-number"] == \
                leaf.serial_der_hex
            assert by_kind[False]["account"] == setup.account.account_id
            assert all(e["detail-type"] == "Roles Anywhere Certificate Expiration State "
                       "Change" and e["source"] == "aws.rolesanywhere" for e in events)
        restarted_at = time.time()
        srv.output.clear()
        with srv:  # same data dir: the delivery log says both were sent today
            _wait_for(lambda: _last_run(srv) > restarted_at)
            time.sleep(1.5)
            assert len(receiver.requests) == 2
            assert SECRET not in "".join(srv.output)

        # on demand, as of tomorrow: the CA is due again (the leaf was not seen in the last
        # day); a webhook that refuses it leaves it in the dead-letter file
        env = {**os.environ, **ENV}

        def run(at: datetime, url: str, *extra: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [sys.executable, "-m", "roleport.cli.main", "notifications", "run",
                 "--data-dir", str(tmp_path / "data"), "--at", at.isoformat(),
                 "--notify-webhook", url, "--notify-webhook-backoff", "0.05", *extra],
                capture_output=True, text=True, env=env, timeout=60)

        refusing = Receiver([503])
        try:
            dead = tmp_path / "dead.jsonl"
            tomorrow = datetime.now(UTC) + timedelta(days=1, hours=1)
            done = run(tomorrow, refusing.url, "--notify-webhook-retries", "1",
                       "--notify-dead-letter", str(dead))
            assert done.returncode == 1 and "1 due, 1 new today, 0 delivered, 1 failed" \
                in done.stderr, done.stderr
            assert len(refusing.requests) == 2  # one retry
            [letter] = [json.loads(line) for line in dead.read_text().splitlines()]
            assert letter["error"] == "HTTP 503" and letter["event"]["detail"][
                "days-to-expiry"] == 19
            assert SECRET not in done.stderr + dead.read_text()
        finally:
            refusing.close()
        later = tomorrow + timedelta(days=1)
        done = run(later, receiver.url, "--notify-file", str(tmp_path / "ev.jsonl"))
        assert done.returncode == 0, done.stderr
        assert "1 due, 1 new today, 1 delivered, 0 failed" in done.stderr
        [again] = receiver.events(SECRET.encode())[2:]
        assert again["detail"]["days-to-expiry"] == 18
        assert json.loads((tmp_path / "ev.jsonl").read_text())["id"] == again["id"]
    finally:
        receiver.close()


def test_two_replicas_on_one_postgresql_send_once(postgres_url, tmp_path):
    receiver = Receiver()
    try:
        with own_postgres_database(postgres_url) as url:
            metrics_port = _free_port()
            first = RoleportServer(tmp_path / "a", database_url=url, http=True, env=ENV,
                                   extra_args=_args(receiver, "--metrics-port",
                                                    str(metrics_port)))
            with first:
                # replicas share the server keys (they seal the stored secrets)
                keys = json.loads((first.data_dir / "server-key.json").read_text())["keys"]
                second = RoleportServer(tmp_path / "b", database_url=url, http=True, env={
                    **ENV, "ROLEPORT_SERVER_KEY": ",".join(k["secret"] for k in keys)},
                    extra_args=_args(receiver))
                with second:
                    _check_one_replica_sends([first, second], receiver)
                # one worker: its own registry on the metrics port too
                text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
                assert "roleport_notification_last_run_timestamp_seconds" in text
                assert 'roleport_create_session_total{outcome="issued"' in text
    finally:
        receiver.close()


def _check_one_replica_sends(replicas: list[RoleportServer], receiver: Receiver) -> None:
    _seed(replicas[0])
    _wait_for(lambda: len(receiver.requests) >= 2)
    time.sleep(3)  # both replicas tick every second meanwhile
    events = receiver.events(SECRET.encode())
    assert len(events) == 2 and len({json.dumps(e["detail"]) for e in events}) == 2
    # exactly one replica holds the lease and runs the evaluation
    assert sorted(_last_run(r) > 0 for r in replicas) == [False, True]
