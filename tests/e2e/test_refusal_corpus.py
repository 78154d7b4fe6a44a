"""Every case of the refusal corpus (refusal_corpus.py) through a real server: AWS's
status and message, no credentials, the refusing check in the audit line, a subject row
only when the signature verified, and a healthy server afterwards."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from roleport.testing import RoleportServer

from .clients.support import Setup, crl_server, tls_context
from .refusal_corpus import CASE_IDS, CASES, Case, World, send


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory) -> Iterator[RoleportServer]:  # noqa: ANN001
    with RoleportServer(tmp_path_factory.mktemp("strict"),
                        extra_args=["--strict-signing"]) as srv:
        yield srv


@pytest.fixture(scope="module")
def crls() -> Iterator[tuple[str, dict[str, bytes]]]:
    with crl_server() as found:
        yield found


def audit_line(server: RoleportServer, start: int, request_id: str) -> dict | None:
    """The CreateSession audit line of ``request_id`` (None: refused before the use case)."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        for line in server.output[start:]:
            if request_id in line and '"event": "CreateSession"' in line:
                return json.loads(line)
            if request_id in line and '"event": "request"' in line:
                return None  # the access line comes last: no audit line will follow
        time.sleep(0.02)
    raise AssertionError(f"no log line for {request_id}")


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_refused(case: Case, request, pki, crls) -> None:  # noqa: ANN001
    server = request.getfixturevalue("strict_server" if case.strict else "server")
    world = World(Setup(server, server.new_account(), [getattr(pki, case.anchor)]), pki, *crls)
    attempt = case.make(world)
    start = len(server.output)
    response = send(world, attempt)

    assert response.status_code == case.status, response.text[:500]
    assert "credentialSet" not in response.text and "secretAccessKey" not in response.text
    if case.code:
        assert response.headers["x-amzn-ErrorType"] == case.code
        message = response.json()["message"]
        assert message.startswith(case.message) if case.prefix else message == case.message, \
            message
    request_id = response.headers.get("x-amzn-RequestId")
    # the connection guard (431, 503 at the cap) answers before any request is made of the
    # bytes: it gives a request id but writes no log line
    by_connection = case.status == 431
    line = audit_line(server, start, request_id) if request_id and not by_connection else None
    if case.check is None:
        assert line is None or line["check"] == "input", line
    else:
        assert line is not None and line["check"] == case.check, line
        assert line["outcome"] == "refused" and line["reason"]

    subjects = world.setup.ra.list_subjects()["subjects"]
    if case.recorded:
        [summary] = subjects
        subject = world.setup.ra.get_subject(subjectId=summary["subjectId"])["subject"]
        assert [c["failed"] for c in subject["credentials"]] == [True]
    else:
        assert subjects == []
    health = httpx.get(f"{server.endpoint}/_roleport/health", verify=tls_context(server))
    assert health.status_code == 200
    assert not any("Traceback" in text for text in server.output[start:])
