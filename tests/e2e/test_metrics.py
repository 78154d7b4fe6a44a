"""Prometheus metrics of a real ``roleport serve --workers 2``: after known traffic every
scrape, whichever worker answers it (and the --metrics-port listener of the supervisor),
shows the exact sums of both workers; a worker's death loses none of them."""

from __future__ import annotations

import os
import signal
import socket
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from roleport.client.sessions import SessionClient, SessionRequest, resolve_endpoint
from roleport.client.signers import FileSigner
from roleport.testing import RoleportServer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _children(pid: int) -> list[int]:
    return [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]


def _metrics_directory(worker: int) -> Path:
    """The private directory the server made for its workers' metric files."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for directory in Path(tempfile.gettempdir()).glob("roleport-metrics-*"):
            if any(directory.glob(f"*_{worker}.db")):
                return directory
        time.sleep(0.1)
    raise AssertionError(f"no metrics directory with files of worker {worker}")


def _create_session(setup, role_arn: str | None = None,  # noqa: ANN001
                    trust_anchor_arn: str | None = None) -> bool:
    cert = setup.client_certificate
    client = SessionClient(
        signer=FileSigner(cert.certificate_path, cert.private_key_path, cert.chain_path),
        endpoint=resolve_endpoint(endpoint=setup.server.endpoint, region=setup.region,
                                  trust_anchor_arn=setup.trust_anchor_arn, ca_bundle=None),
        request=SessionRequest(trust_anchor_arn=trust_anchor_arn or setup.trust_anchor_arn,
                               profile_arn=setup.profile_arn,
                               role_arn=role_arn or setup.role_arn))
    try:
        client.create_session()
        return True
    except Exception:  # noqa: BLE001 - a refusal is what some calls want
        return False
    finally:
        client.close()


def test_scrapes_sum_both_workers_exactly(tmp_path):
    metrics_port = _free_port()
    srv = RoleportServer(tmp_path / "metrics", http=True,
                         extra_args=["--workers", "2", "--metrics-port", str(metrics_port),
                                     "--no-access-log"])
    with srv:
        assert f"metrics  http://127.0.0.1:{metrics_port}/metrics" in "".join(srv.output)
        directory = _scrape_after_known_traffic(srv, metrics_port)
    # the private directory of the workers' metric files goes with the server
    assert srv.process.returncode == 0 and not directory.exists()


def _scrape_after_known_traffic(srv: RoleportServer, metrics_port: int) -> Path:
    setup = srv.setup_roles_anywhere()
    anchor_id = setup.trust_anchor_arn.rsplit("/", 1)[1]
    profile_id = setup.profile_arn.rsplit("/", 1)[1]
    wrong_role = setup.role_arn + "-not-in-profile"
    unknown_anchor = setup.trust_anchor_arn.rsplit("/", 1)[0] + "/" + str(uuid.uuid4())
    outcomes = [_create_session(setup) for _ in range(12)]
    outcomes += [_create_session(setup, role_arn=wrong_role) for _ in range(5)]
    outcomes += [_create_session(setup, trust_anchor_arn=unknown_anchor) for _ in range(3)]
    assert outcomes == [True] * 12 + [False] * 8

    workers = _children(srv.process.pid)
    directory = _metrics_directory(workers[0])
    assert (directory.stat().st_mode & 0o777) == 0o700
    # both workers served part of the traffic: the sums below are across processes
    assert all((directory / f"counter_{pid}.db").exists() for pid in workers)

    def check(text: str) -> None:
        s = _samples(text)
        labels = {"trust_anchor": anchor_id, "profile": profile_id}
        assert _value(s, "roleport_create_session_total", outcome="issued", reason="none",
                      **labels) == 12
        assert _value(s, "roleport_create_session_total", outcome="refused", reason="role",
                      **labels) == 5
        assert _value(s, "roleport_create_session_total", outcome="refused",
                      reason="trust-anchor", trust_anchor="unknown", profile="unknown") == 3
        assert _value(s, "roleport_request_seconds_count", service="rolesanywhere",
                      operation="CreateSession") == 20
        assert _value(s, "roleport_requests_total", service="rolesanywhere",
                      operation="CreateSession", status="201") == 12
        assert _value(s, "roleport_requests_total", service="rolesanywhere",
                      operation="CreateSession", status="403") == 8
        ca = {dict(k[1])["serial"]: v for k, v in s.items()
              if k[0] == "roleport_trust_anchor_certificate_days_to_expiry"
              and dict(k[1])["trust_anchor"] == anchor_id}
        assert len(ca) == 2 and all(1800 < v < 3651 for v in ca.values())
        leaf = setup.client_certificate.certificate
        ee = _value(s, "roleport_end_entity_certificate_days_to_expiry",
                    account=setup.account.account_id, region=setup.region,
                    serial=leaf.serial_der_hex, subject=leaf.subject_dn)
        assert 29 < ee <= 30
        assert _value(s, "roleport_inventory_up") == 1

    for _ in range(4):  # new connections: answered by either worker
        check(httpx.get(srv.endpoint + "/_roleport/metrics", headers={"Connection": "close"}
                        ).text)
    check(httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text)

    # a worker killed: the supervisor starts another; the dead one's counts stay summed
    os.kill(workers[0], signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        now = _children(srv.process.pid)
        if len(now) == 2 and workers[0] not in now:
            break
        time.sleep(0.1)
    else:
        pytest.fail("no replacement worker")
    for _ in range(20):
        try:
            text = httpx.get(srv.endpoint + "/_roleport/metrics",
                             headers={"Connection": "close"}).text
            break
        except httpx.TransportError:
            time.sleep(0.2)
    check(text)
    return directory
