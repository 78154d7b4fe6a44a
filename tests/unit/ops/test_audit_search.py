"""``roleport audit search``: filters, rotated and compressed files, both outputs."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from roleport.cli.main import cli
from roleport.ops.audit_search import Filter, files_of, parse_time


def record(name: str, when: str, *, arn: str | None = None, key: str | None = None,
           error: str | None = None, serial: str | None = None,
           check: str | None = None) -> dict:
    r: dict = {"eventVersion": "1.11", "eventTime": when, "eventName": name,
               "eventSource": "rolesanywhere.amazonaws.com", "sourceIPAddress": "10.0.0.7",
               "userIdentity": {"type": "IAMUser" if arn else "Unknown",
                                **({"arn": arn} if arn else {}),
                                **({"accessKeyId": key} if key else {})}}
    if error:
        r["errorCode"], r["errorMessage"] = error, "refused"
    if serial:
        r["additionalEventData"] = {"serialNumber": serial, "x509Subject": "CN=agent-7",
                                    "check": check, "reason": "certificate has expired"}
    return r


ADMIN = "arn:aws:iam::123456789012:root"
OLD = record("CreateTrustAnchor", "2026-12-01T10:00:00Z", arn=ADMIN, key="AKIAOLD")
MID = record("CreateSession", "2026-12-05T10:00:00Z", error="AccessDeniedException",
             serial="0a1b", check="certificate")
NEW = record("ListProfiles", "2026-12-07T10:00:00Z", arn=ADMIN, key="AKIANEW")


@pytest.fixture()
def trail(tmp_path: Path) -> Path:
    """audit.log with two rotations: .2.gz (oldest, gzip), .1, then the live file."""
    live = tmp_path / "audit.log"
    with gzip.open(tmp_path / "audit.log.2.gz", "wt") as f:
        f.write(json.dumps(OLD) + "\n")
    (tmp_path / "audit.log.1").write_text(json.dumps(MID) + "\n" + "not json\n")
    live.write_text(json.dumps(NEW) + "\n")
    for age, name in ((300, "audit.log.2.gz"), (200, "audit.log.1"), (100, "audit.log")):
        t = datetime(2026, 12, 7, tzinfo=UTC).timestamp() - age
        os.utime(tmp_path / name, (t, t))
    return live


def search(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", "search", *args])
    return result.exit_code, result.output


def names(output: str) -> list[str]:
    return [json.loads(line)["eventName"] for line in output.splitlines()
            if line.startswith("{")]


def test_rotated_and_compressed_files_are_read_oldest_first(trail: Path) -> None:
    assert [p.name for p in files_of(trail)] == ["audit.log.2.gz", "audit.log.1", "audit.log"]
    code, out = search(str(trail), "--output", "json")
    assert code == 0
    assert names(out) == ["CreateTrustAnchor", "CreateSession", "ListProfiles"]
    assert "1 lines that are not audit records were skipped" in out


@pytest.mark.parametrize(("args", "expected"), [
    (["--since", "2026-12-04T00:00:00Z"], ["CreateSession", "ListProfiles"]),
    (["--until", "2026-12-02"], ["CreateTrustAnchor"]),
    (["--event-name", "CreateSession", "--event-name", "ListProfiles"],
     ["CreateSession", "ListProfiles"]),
    (["--principal", ADMIN], ["CreateTrustAnchor", "ListProfiles"]),
    (["--principal", "AKIANEW"], ["ListProfiles"]),
    (["--principal", "CN=agent-7"], ["CreateSession"]),
    (["--principal", "*agent*"], ["CreateSession"]),
    (["--serial", "0A:1B"], ["CreateSession"]),
    (["--serial", str(0x0A1B)], ["CreateSession"]),  # decimal, as subject records show it
    (["--serial", "ffff"], []),
    (["--error-code", "AccessDeniedException"], ["CreateSession"]),
    (["--errors"], ["CreateSession"]),
    (["--limit", "1"], ["ListProfiles"]),
])
def test_filters(trail: Path, args: list[str], expected: list[str]) -> None:
    code, out = search(str(trail), "--output", "json", *args)
    assert code == 0, out
    assert names(out) == expected


def test_the_table_shows_who_what_and_why(trail: Path) -> None:
    code, out = search(str(trail), "--event-name", "CreateSession")
    assert code == 0
    header, row = out.splitlines()[:2]
    assert header.split() == ["TIME", "EVENT", "PRINCIPAL", "SOURCE", "RESULT", "DETAIL"]
    assert "CreateSession" in row and "AccessDeniedException" in row
    assert "certificate: certificate has expired" in row


def test_bad_times_and_missing_files_are_clear_errors(tmp_path: Path) -> None:
    code, out = search(str(tmp_path / "nothing.log"))
    assert code == 1 and "no audit log at" in out
    code, out = search(str(tmp_path / "nothing.log"), "--since", "yesterday-ish")
    assert code == 2 and "neither ISO 8601" in out


def test_relative_times() -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    assert parse_time("90m", now) == datetime(2026, 12, 7, 10, 30, tzinfo=UTC)
    assert parse_time("2d", now) == datetime(2026, 12, 5, 12, tzinfo=UTC)
    assert Filter(since=parse_time("1h", now)).matches(record("X", "2026-12-07T11:30:00Z"))
