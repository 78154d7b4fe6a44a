"""The audit trail through a real ``roleport serve``: one CloudTrail-shaped record per
call, no secret in it, rotation on SIGHUP, fail-closed refusals, and no line lost or torn
by a clean stop with two workers."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from roleport.cli.main import cli
from roleport.testing import DevPki, RoleportServer

from .clients.support import tls_context
from .conftest import bundle_source


def records(path: Path, *, at_least: int = 0, until=None,  # noqa: ANN001
            timeout: float = 5.0) -> list[dict]:
    """The records of ``path``, waiting (they are written in the background) for at least
    ``at_least`` of them, or for one that ``until`` accepts."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text() if path.exists() else ""
        found = [json.loads(line) for line in text.splitlines()]
        done = len(found) >= at_least and (until is None or any(map(until, found)))
        if done or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def no_retries(server: RoleportServer, service: str, account) -> object:  # noqa: ANN001
    """A boto3 client that tries once (the default config retries a 503 once)."""
    from botocore.config import Config

    return server.client(service, account, config=Config(retries={"total_max_attempts": 1}))


def create_session(server: RoleportServer, setup, certificate=None) -> httpx.Response:  # noqa: ANN001
    """One CreateSession as a client sends it, without a client's retries."""
    from roleport.auth.verifier import SigningRequest
    from roleport.auth.x509 import sign_x509_request

    issued = (certificate or setup.client_certificate).issued
    payload = json.dumps({"trustAnchorArn": setup.trust_anchor_arn,
                          "profileArn": setup.profile_arn, "roleArn": setup.role_arn}).encode()
    base = [("host", urlsplit(server.endpoint).netloc), ("content-type", "application/json"),
            ("user-agent", "audit-test/1.0")]
    signed = sign_x509_request(SigningRequest("POST", "/sessions", "", base, payload),
                               certificate=issued.certificate, sign=issued.key.sign,
                               chain=issued.intermediates, region=server.region,
                               now=datetime.now(UTC))
    headers = [(n, v) for n, v in signed.headers if n != "host"]
    return httpx.post(f"{server.endpoint}/sessions", content=payload, headers=headers,
                      verify=tls_context(server), timeout=30)


@pytest.fixture(scope="module")
def audited(tmp_path_factory) -> tuple[RoleportServer, Path]:
    path = tmp_path_factory.mktemp("audit") / "audit.log"
    with RoleportServer(extra_args=["--audit-log", str(path)]) as server:
        yield server, path


def test_every_call_has_one_record_and_no_secret(audited) -> None:
    server, path = audited
    setup = server.setup_roles_anywhere()
    ok = create_session(server, setup)
    assert ok.status_code == 201
    issued = ok.json()["credentialSet"][0]["credentials"]
    stranger = DevPki().issue("stranger")
    assert create_session(server, setup, stranger).status_code == 403
    sts = setup.client("sts")
    sts.get_caller_identity()
    with pytest.raises(ClientError):
        server.client("rolesanywhere", setup.account).get_profile(profileId="00000000-0000-4000-8000-000000000000")

    account = setup.account.account_id
    found = records(path, until=lambda r: r["eventName"] == "GetProfile"
                    and r.get("recipientAccountId") == account)
    mine = [r for r in found if r.get("recipientAccountId") == account]
    by_name = {}
    for r in mine:
        by_name.setdefault(r["eventName"], []).append(r)
    assert {"CreateTrustAnchor", "CreateRole", "CreateProfile", "CreateSession",
            "GetCallerIdentity", "GetProfile"} <= set(by_name)
    assert len({r["eventID"] for r in mine}) == len(mine)
    assert len({r["requestID"] for r in mine}) == len(mine)
    for r in mine:
        assert r["eventVersion"] == "1.11" and r["eventType"] == "AwsApiCall"
        assert r["eventSource"] in ("rolesanywhere.amazonaws.com", "iam.amazonaws.com",
                                    "sts.amazonaws.com")
        assert r["awsRegion"] == server.region and r["sourceIPAddress"] == "127.0.0.1"

    anchor = by_name["CreateTrustAnchor"][0]
    assert anchor["userIdentity"] == {
        "type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root",
        "accountId": account, "accessKeyId": setup.account.access_key_id}
    assert anchor["readOnly"] is False and anchor["responseElements"]["trustAnchor"]["name"]
    assert "sha256" in anchor["requestParameters"]["source"]["sourceData"][
        "x509CertificateData"]

    success, refusal = by_name["CreateSession"][:2]
    assert success["userAgent"] == "audit-test/1.0"
    assert success["requestParameters"]["cert"]["subject"] == "CN=roleport-test-client"
    credentials = success["responseElements"]["credentialSet"][0]["credentials"]
    assert credentials["accessKeyId"] == issued["accessKeyId"]
    assert credentials["secretAccessKey"] == credentials["sessionToken"] \
        == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert success["additionalEventData"]["outcome"] == "issued"
    assert refusal["errorCode"] == "AccessDeniedException"
    assert refusal["errorMessage"] == "Untrusted signing certificate"
    assert refusal["additionalEventData"]["check"] == "certificate"
    assert refusal["additionalEventData"]["reason"]  # the precise reason AWS never sends
    assert refusal["responseElements"] is None

    caller = by_name["GetCallerIdentity"][0]
    assert caller["userIdentity"]["type"] == "AssumedRole"
    helper = by_name["CreateSession"][-1]["responseElements"]["credentialSet"][0]
    assert caller["userIdentity"]["accessKeyId"] == helper["credentials"]["accessKeyId"]
    assert caller["readOnly"] is True and caller["responseElements"] is None
    assert by_name["GetProfile"][0]["errorCode"] == "ResourceNotFoundException"

    text = path.read_text()
    for secret in (setup.account.secret_access_key, issued["secretAccessKey"],
                   issued["sessionToken"], server.admin.secret_access_key):
        assert secret not in text
    assert "PRIVATE KEY" not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_audit_search_reads_what_the_server_wrote(audited) -> None:
    server, path = audited
    setup = server.setup_roles_anywhere()
    stranger = DevPki().issue("stranger")
    assert create_session(server, setup, stranger).status_code == 403
    serial = stranger.certificate.serial_hex
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        out = CliRunner().invoke(cli, ["audit", "search", str(path), "--serial", serial,
                                       "--output", "json"]).output
        found = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        if found:
            break
        time.sleep(0.05)
    assert [r["additionalEventData"]["check"] for r in found] == ["certificate"]
    out = CliRunner().invoke(cli, ["audit", "search", str(path), "--principal",
                                   setup.account.access_key_id, "--event-name",
                                   "CreateProfile"]).output
    assert "CreateProfile" in out and f"arn:aws:iam::{setup.account.account_id}:root" in out


def test_sighup_reopens_the_file_after_rotation(audited) -> None:
    server, path = audited
    client = server.client("rolesanywhere", server.new_account())
    client.list_trust_anchors()
    before = len(records(path, at_least=1))
    rotated = path.with_name("audit.log.1")
    path.rename(rotated)
    os.kill(server.process.pid, signal.SIGHUP)
    deadline = time.monotonic() + 5
    while not path.exists() and time.monotonic() < deadline:
        client.list_trust_anchors()  # may still land in the old file until the reopen
        time.sleep(0.05)
    client.list_trust_anchors()
    new = records(path, until=lambda r: r["eventName"] == "ListTrustAnchors")
    assert new and new[-1]["eventName"] == "ListTrustAnchors"
    assert len(records(rotated)) >= before
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert server.process.poll() is None  # SIGHUP did not stop the server
    rotated.unlink()


def test_fail_closed_issues_nothing_when_the_record_cannot_be_written(tmp_path, pki) -> None:
    data = tmp_path / "data"
    args = ["--audit-log", "/dev/full", "--audit-fail-closed"]
    with RoleportServer(data) as plain:  # set up without the audit trail
        setup = plain.setup_roles_anywhere()
    with RoleportServer(data, extra_args=args) as server:
        # the first request runs, its record fails: 503 instead of the credentials
        refused = create_session(server, setup)
        assert refused.status_code == 503
        assert refused.json()["message"].startswith("The service is temporarily unavailable")
        assert refused.headers["x-amzn-ErrorType"] == "ServiceUnavailableException"
        assert "credentialSet" not in refused.text
        # now the trail is known broken: refused before anything runs, in each protocol
        ra = no_retries(server, "rolesanywhere", setup.account)
        with pytest.raises(ClientError) as err:
            ra.create_trust_anchor(name="unaudited", source=bundle_source(pki.root))
        assert err.value.response["Error"]["Code"] == "ServiceUnavailableException"
        with pytest.raises(ClientError) as err:
            no_retries(server, "sts", setup.account).get_caller_identity()
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert create_session(server, setup).status_code == 503
        log = "".join(server.output)
        assert "audit record not written" in log
    with sqlite3.connect(data / "roleport.db") as db:
        names = {n for (n,) in db.execute("SELECT name FROM trust_anchors WHERE "
                                          "account_id = ?", (setup.account.account_id,))}
    assert names == {"roleport-test"}  # the refused CreateTrustAnchor did not run


def test_fail_closed_recovers_when_the_file_comes_back(tmp_path) -> None:
    path = tmp_path / "audit.log"
    with RoleportServer(extra_args=["--audit-log", str(path), "--audit-fail-closed"]) \
            as server:
        client = no_retries(server, "rolesanywhere", server.new_account())
        client.list_profiles()
        path.rename(tmp_path / "audit.log.1")
        path.mkdir()  # the file is now a directory: it cannot be opened
        os.kill(server.process.pid, signal.SIGHUP)
        deadline, status = time.monotonic() + 5, 200
        while status != 503 and time.monotonic() < deadline:
            try:
                client.list_profiles()
            except ClientError as exc:
                status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
        assert status == 503
        path.rmdir()  # the next attempt opens it again
        with pytest.raises(ClientError):
            client.list_profiles()  # refused: its record is the probe that heals the trail
        client.list_profiles()
        healed = records(path, until=lambda r: "errorCode" not in r)
        assert healed[0]["errorCode"] == "ServiceUnavailableException"
        assert healed[-1]["eventName"] == "ListProfiles" and "errorCode" not in healed[-1]


def test_best_effort_keeps_serving_when_the_trail_fails() -> None:
    with RoleportServer(extra_args=["--audit-log", "/dev/full"]) as server:
        client = server.client("rolesanywhere", server.new_account())
        for _ in range(3):
            client.list_profiles()
        deadline = time.monotonic() + 5  # written (and failed) in the background
        while "audit log: cannot write to /dev/full" not in "".join(server.output):
            assert time.monotonic() < deadline, "the failure was never reported"
            time.sleep(0.05)


def test_a_clean_stop_of_two_workers_loses_and_tears_no_line(tmp_path) -> None:
    """Two workers append to one file, are told to reopen it half-way (SIGHUP to the
    supervisor, which passes it on), and are stopped: every record is in one of the two
    files, whole."""
    path = tmp_path / "audit.log"
    server = RoleportServer(extra_args=["--audit-log", str(path), "--workers", "2"]).start()
    try:
        account = server.new_account()
        client = server.client("rolesanywhere", account)
        count = 120
        for i in range(count):
            if i == count // 2:
                path.rename(tmp_path / "audit.log.1")
                os.kill(server.process.pid, signal.SIGHUP)
            client.list_profiles()
    finally:
        server.close()
    assert server.process.returncode == 0
    mine = []
    for name in ("audit.log.1", "audit.log"):
        lines = (tmp_path / name).read_bytes().split(b"\n")
        assert lines[-1] == b""  # the file ends with a whole line
        mine += [r for r in map(json.loads, lines[:-1])
                 if r.get("recipientAccountId") == account.account_id]
    assert len(mine) == count
    assert len({r["requestID"] for r in mine}) == count
    assert path.stat().st_size > 0  # the workers did reopen: records after the rotation
    access = [json.loads(line) for line in server.output if line.startswith("{")
              and '"event": "request"' in line]
    assert len([a for a in access if a.get("account") == account.account_id]) == count
