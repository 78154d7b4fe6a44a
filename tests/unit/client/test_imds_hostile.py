"""``serve``'s endpoint under hostile bytes, on a real socket: every answer a 4xx, the
log free of the client's control characters, no traceback, no request smuggled in a body."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import pytest

from roleport.client import imds
from roleport.client.imds import CredentialServer

from .test_imds import Source, start


@pytest.fixture()
def served() -> Iterator[tuple[CredentialServer, list[str]]]:
    server = start(Source())
    lines: list[str] = []
    server.log = lines.append
    yield server, lines
    server.shutdown()


def raw(server: CredentialServer, data: bytes, *, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as conn:
        conn.sendall(data)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
        return received


def status_of(answer: bytes) -> int:
    if answer.startswith(b"HTTP/"):
        return int(answer.split(b" ", 2)[1])
    # http.server answers a request line it cannot read in HTTP/0.9 style: no status line
    found = re.search(rb"Error code: (\d{3})", answer)
    assert found, answer[:200]
    return int(found.group(1))


def statuses(answer: bytes) -> list[int]:
    return [int(line.split(b" ", 2)[1]) for line in answer.split(b"\r\n")
            if line.startswith(b"HTTP/1.")]


CLOSE = b"Connection: close\r\n"
HOSTILE = {
    "binary request line": b"\x00\xff\xfe garbage\r\n\r\n",
    "ttl of thousands of digits": b"PUT /latest/api/token HTTP/1.1\r\n"
    b"x-aws-ec2-metadata-token-ttl-seconds: " + b"9" * 5000 + b"\r\n" + CLOSE + b"\r\n",
    "ttl that is a unicode digit": b"PUT /latest/api/token HTTP/1.1\r\n"
    b"x-aws-ec2-metadata-token-ttl-seconds: \xb2\r\n" + CLOSE + b"\r\n",
    "binary token": b"GET /latest/meta-data/iam/security-credentials/app HTTP/1.1\r\n"
    b"x-aws-ec2-metadata-token: \xff\xfe\x00\r\n" + CLOSE + b"\r\n",
    "binary ecs authorization": b"GET /v1/credentials HTTP/1.1\r\nAuthorization: \xff\xfe\r\n"
    + CLOSE + b"\r\n",
    "request line of 70 KB": b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
    "200 headers": b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(200))
    + b"\r\n",
    "chunked body": b"PUT /latest/api/token HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
    b"x-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("data", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_requests_are_client_errors(served, data: bytes, capfd) -> None:
    server, _ = served
    answer = raw(server, data)
    assert 400 <= status_of(answer) < 500, answer[:200]
    assert b"ASIAIMDS" not in answer
    assert "Traceback" not in capfd.readouterr().err


def test_an_unknown_http_version_is_505_as_http_says(served) -> None:
    server, _ = served
    assert status_of(raw(server, b"GET / HTTP/9.9\r\n\r\n")) == 505


def test_a_body_is_refused_rather_than_read_as_a_second_request(served) -> None:
    server, lines = served
    smuggled = b"GET /latest/meta-data/iam/security-credentials/app HTTP/1.1\r\n\r\n"
    answer = raw(server, b"PUT /latest/api/token HTTP/1.1\r\nContent-Length: %d\r\n"
                 b"x-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n" % len(smuggled) + smuggled)
    assert statuses(answer) == [400]  # one answer, and the connection closed
    assert b"takes no request body" in answer
    assert not any("security-credentials" in line for line in lines)


def test_a_token_put_with_an_empty_body_still_works(served) -> None:
    server, _ = served
    answer = raw(server, b"PUT /latest/api/token HTTP/1.1\r\nContent-Length: 0\r\n"
                 b"x-aws-ec2-metadata-token-ttl-seconds: 60\r\n" + CLOSE + b"\r\n")
    assert status_of(answer) == 200


def test_control_characters_from_the_client_are_escaped_in_the_log(served) -> None:
    server, lines = served
    raw(server, b"GET /\x1b[31mred\x1b]0;title\x07 HTTP/1.1\r\n" + CLOSE + b"\r\n")
    raw(server, b"GET /a\rforged line HTTP/1.1\r\n\r\n")
    time.sleep(0.1)
    assert lines and all(ch not in line for line in lines for ch in "\x1b\x07\r\n")
    assert any("\\x1b[31mred" in line for line in lines)


def test_an_idle_connection_is_closed_after_the_read_timeout(served, monkeypatch) -> None:
    server, _ = served
    monkeypatch.setattr(imds._Handler, "timeout", 0.3)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\n")  # and then nothing
        started = time.monotonic()
        assert conn.recv(100) == b""  # closed by the server
        assert time.monotonic() - started < 4
    assert imds.READ_TIMEOUT_SECONDS == 10.0
