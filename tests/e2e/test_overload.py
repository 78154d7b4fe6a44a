"""Overload and unavailability through a real server, answered as AWS answers them: the
database going away (503, then recovery, never a 500), a SIGTERM drain (in-flight requests
finish, new connections are refused), hundreds of idle and half-sent connections beside
normal traffic, and a flood beyond a worker's queue (a quick 503, not a long wait).
Assertions are on statuses and counts, never on latencies."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from roleport.crypto import devpki
from roleport.testing import RoleportServer
from tests.pg_server import ThrowawayPostgres, find_bindir

from .clients.support import Setup
from .wire_support import error_code, session_request, signed_request, wire_bytes


def _address(server: RoleportServer) -> tuple[str, int]:
    parts = urlsplit(server.endpoint)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


async def _exchange(address: tuple[str, int], raw: bytes, timeout: float = 60.0) \
        -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(*address), timeout)
    try:
        writer.write(raw)
        return _parse(await asyncio.wait_for(reader.read(-1), timeout))
    finally:
        writer.close()


def _send(server: RoleportServer, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    return asyncio.run(_exchange(_address(server), raw))




# -- the database goes away ------------------------------------------------------------------


@pytest.fixture()
def own_postgres() -> Iterator[ThrowawayPostgres]:
    bindir = find_bindir()
    assert bindir is not None, "no PostgreSQL binaries (make install-test)"
    cluster = ThrowawayPostgres.start(bindir)
    try:
        yield cluster
    finally:
        cluster.stop()


def test_an_unreachable_database_is_503_and_the_server_recovers(
        own_postgres: ThrowawayPostgres, pki: Any) -> None:
    with RoleportServer(database_url=own_postgres.url, http=True) as server:
        account = server.new_account()
        setup = Setup(server, account, [pki.root])
        leaf = devpki.issue_leaf(pki.intermediate, "during-outage")
        requests = {service: wire_bytes(server, signed_request(server, account, service))
                    for service in ("rolesanywhere", "iam", "sts")}
        requests["sessions"] = wire_bytes(server, session_request(server, setup, leaf))
        assert {n: error_code(_send(server, r))[0] for n, r in requests.items()} == \
            {"rolesanywhere": 200, "iam": 200, "sts": 200, "sessions": 201}

        # requests keep coming while the database stops under them (some fail mid-query)
        during: Counter[tuple[int, str]] = Counter()
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                for raw in requests.values():
                    during[error_code(_send(server, raw))] += 1

        loaders = [threading.Thread(target=load) for _ in range(3)]
        for thread in loaders:
            thread.start()
        time.sleep(0.5)
        own_postgres.halt()
        time.sleep(0.5)
        stop.set()
        for thread in loaders:
            thread.join()
        assert set(during) <= {(503, "ServiceUnavailableException"),
                               (503, "ServiceUnavailable"), (200, ""), (201, "")}, during
        seen: Counter[tuple[int, str]] = Counter()
        for _ in range(3):
            for name, raw in requests.items():
                status, headers, body = answer = _send(server, raw)
                seen[error_code(answer)] += 1
                if status == 503:
                    assert headers["retry-after"] == "1"
                    assert headers["x-amz-retry-after"] == "1000"
                if name == "rolesanywhere":
                    assert error_code(answer) == (503, "ServiceUnavailableException")
                    assert json.loads(body)["retryAfterSeconds"] == 1
                if name == "iam":  # the query shape
                    assert error_code(answer) == (503, "ServiceUnavailable")
                    assert b"<Type>Receiver</Type>" in body
        # what needs no database (a cached key, a minted credential) may still be served
        assert set(seen) <= {(503, "ServiceUnavailableException"), (503, "ServiceUnavailable"),
                             (200, ""), (201, "")}, seen
        health = _send(server, "GET /_roleport/health HTTP/1.1\r\nHost: x\r\n"
                               "Connection: close\r\n\r\n".encode())
        assert health[0] == 503 and json.loads(health[2])["database"] == "unreachable"

        own_postgres.resume()
        deadline = time.monotonic() + 60
        statuses: list[int] = []
        while time.monotonic() < deadline:
            statuses = [error_code(_send(server, r))[0] for r in requests.values()]
            if statuses == [200, 200, 200, 201]:
                break
            assert set(statuses) <= {200, 201, 503}, statuses
            time.sleep(0.5)
        assert statuses == [200, 200, 200, 201]
        assert not any('"status": 500' in line or '"status":500' in line
                       for line in server.output)


# -- draining on SIGTERM -------------------------------------------------------------------


def _refused(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=2):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def test_sigterm_finishes_in_flight_requests_and_refuses_new_connections(
        tmp_path: Path) -> None:
    # a drain long enough for a loaded machine: the test sends the rest of the body late
    server = RoleportServer(tmp_path / "data", http=True,
                            extra_args=["--workers", "2", "--drain-timeout", "30"])
    server.start()
    try:
        address = _address(server)
        raw = wire_bytes(server, signed_request(server, server.admin, "sts"))
        head, _, body = raw.partition(b"\r\n\r\n")
        in_flight = socket.create_connection(address, timeout=30)
        in_flight.sendall(head + b"\r\n\r\n" + body[:10])  # the headers, part of the body
        time.sleep(0.5)  # the worker has the request and waits for the rest of its body
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 3
        while not _refused(address) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _refused(address)  # new connections: refused (an SDK tries again elsewhere)
        in_flight.sendall(body[10:])
        chunks = []
        while chunk := in_flight.recv(65536):
            chunks.append(chunk)
        in_flight.close()
        status, headers, answer = _parse(b"".join(chunks))
        assert status == 200 and b"<GetCallerIdentityResult>" in answer
        assert headers["connection"] == "close"
        assert server.process.wait(30) == 0
    finally:
        server.stop()


# -- idle and slow clients, and a flood beyond the queue ---------------------------------------


@pytest.fixture(scope="module")
def crowded() -> Iterator[RoleportServer]:
    # one worker takes every connection; the header deadline outlasts the test
    args = ["--workers", "1", "--header-timeout", "120", "--max-pending-requests", "2"]
    with RoleportServer(http=True, extra_args=args) as srv:
        yield srv


def test_hundreds_of_idle_and_half_sent_connections_do_not_starve_requests(
        crowded: RoleportServer) -> None:
    address = _address(crowded)
    raw = wire_bytes(crowded, signed_request(crowded, crowded.admin, "sts"))

    async def scenario() -> tuple[list[int], int]:
        idle, slow = [], []
        for _ in range(300):
            idle.append(await asyncio.open_connection(*address))
        for _ in range(100):
            reader, writer = await asyncio.open_connection(*address)
            writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Ty")  # never completed
            slow.append((reader, writer))
        await asyncio.sleep(0.2)
        statuses = []
        for _ in range(30):  # one at a time: the queue bound is not what is tested here
            statuses.append((await _exchange(address, raw))[0])
        still_open = sum(not r.at_eof() for r, _ in idle + slow)
        for _, writer in idle + slow:
            writer.close()
        return statuses, still_open

    statuses, still_open = asyncio.run(scenario())
    assert statuses == [200] * 30
    assert still_open == 400  # they were there all along, held within the connection cap


def test_a_flood_beyond_the_queue_gets_quick_503s_not_a_long_wait(
        crowded: RoleportServer) -> None:
    address = _address(crowded)
    sts, ra = (wire_bytes(crowded, signed_request(crowded, crowded.admin, service))
               for service in ("sts", "rolesanywhere"))

    async def flood() -> list[tuple[int, dict[str, str], bytes]]:
        conns = [await asyncio.open_connection(*address) for _ in range(150)]
        for i, (_, writer) in enumerate(conns):  # all at once: the worker reads them together
            writer.write(ra if i % 3 == 0 else sts)
        answers = []
        for reader, writer in conns:
            answers.append(_parse(await asyncio.wait_for(reader.read(-1), 60)))
            writer.close()
        return answers

    answers = asyncio.run(flood())
    codes = Counter(error_code(a) for a in answers)
    assert set(codes) <= {(200, ""), (503, "ServiceUnavailable"),
                          (503, "ServiceUnavailableException")}, codes
    assert codes[(200, "")] >= 2
    refused = [a for a in answers if a[0] == 503]
    assert refused, codes
    for _, headers, body in refused:
        assert headers["retry-after"] == "1" and headers["x-amz-retry-after"] == "1000"
        assert b"too many requests are waiting" in body
    # and once the flood is over, the server serves as before
    assert error_code(_send(crowded, sts)) == (200, "")
