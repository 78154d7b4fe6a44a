"""Reading the audit trail back: its files (rotated and compressed ones too), filters,
and a table for people.

``audit.log`` stands for itself and its rotated siblings (``audit.log.1``,
``audit.log.2.gz``, ``audit.log-20261207.gz``...), read oldest first by modification
time. A line that is not a JSON object (a torn last line, another log) is skipped and
counted.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

__all__ = ["Filter", "Reader", "files_of", "parse_time", "table"]

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """ISO 8601 (``2026-12-07T16:00:00Z``, a bare date) or a time ago (``15m``, ``2h``,
    ``7d``); raises ValueError."""
    now = now or datetime.now(UTC)
    text = text.strip()
    relative = _RELATIVE.match(text)
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def files_of(path: Path) -> list[Path]:
    """``path``'s rotated siblings, oldest first, then ``path`` itself (if present)."""
    if not path.parent.is_dir():
        return [path] if path.exists() else []
    siblings = [p for p in path.parent.iterdir()
                if p != path and p.is_file() and (p.name.startswith(path.name + ".")
                                                   or p.name.startswith(path.name + "-"))]
    siblings.sort(key=lambda p: (p.stat().st_mtime, p.name))
    return siblings + ([path] if path.exists() else [])


def _open(path: Path) -> IO[bytes]:
    raw = path.open("rb")
    if raw.read(2) == b"\x1f\x8b":  # gzip, whatever the name says
        raw.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


def _normal_serial(text: str) -> str:
    return text.strip().lower().replace(":", "").removeprefix("0x").lstrip("0") or "0"


def _serial_matches(wanted: str, serial_hex: str) -> bool:
    """``wanted`` in hex (colons, ``0x`` allowed) or in decimal (as subject records show it)."""
    have = _normal_serial(serial_hex)
    if _normal_serial(wanted) == have:
        return True
    return wanted.strip().isdigit() and int(wanted.strip()) == int(have, 16)


def _principals(record: dict[str, Any]) -> list[str]:
    who = record.get("userIdentity") or {}
    extra = record.get("additionalEventData") or {}
    found = [who.get("arn"), who.get("principalId"), who.get("accessKeyId"),
             (who.get("sessionContext") or {}).get("sessionIssuer", {}).get("arn"),
             extra.get("x509Subject"), extra.get("subjectArn")]
    return [p for p in found if isinstance(p, str) and p]


@dataclass
class Filter:
    since: datetime | None = None
    until: datetime | None = None
    event_names: set[str] = field(default_factory=set)
    #: an ARN, principal id, access key id or certificate subject DN (exact), or a part of
    #: one with ``*`` around it
    principal: str | None = None
    serial: str | None = None
    error_codes: set[str] = field(default_factory=set)
    errors_only: bool = False

    def matches(self, record: dict[str, Any]) -> bool:
        if self.since or self.until:
            try:
                when = parse_time(str(record.get("eventTime", "")))
            except ValueError:
                return False
            if (self.since and when < self.since) or (self.until and when > self.until):
                return False
        if self.event_names and record.get("eventName") not in self.event_names:
            return False
        code = record.get("errorCode")
        if self.errors_only and not code:
            return False
        if self.error_codes and code not in self.error_codes:
            return False
        if self.principal and not any(self._principal_is(p) for p in _principals(record)):
            return False
        if self.serial:
            serial = ((record.get("additionalEventData") or {}).get("serialNumber")
                      or ((record.get("requestParameters") or {}).get("cert") or {})
                      .get("serialNumber"))
            if not (isinstance(serial, str) and _serial_matches(self.serial, serial)):
                return False
        return True

    def _principal_is(self, value: str) -> bool:
        wanted = self.principal or ""
        if len(wanted) > 2 and wanted.startswith("*") and wanted.endswith("*"):
            return wanted[1:-1].lower() in value.lower()
        return value == wanted


class Reader:
    """Records of the given files, in order; ``skipped`` counts unreadable lines."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.paths = list(paths)
        self.skipped = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for path in self.paths:
            with _open(path) as stream:
                for line in stream:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        self.skipped += 1
                        continue
                    if isinstance(record, dict) and "eventName" in record:
                        yield record
                    else:
                        self.skipped += 1


def _who(record: dict[str, Any]) -> str:
    who = record.get("userIdentity") or {}
    return str(who.get("arn") or who.get("principalId") or who.get("accessKeyId") or "-")


def _detail(record: dict[str, Any]) -> str:
    extra = record.get("additionalEventData") or {}
    if extra.get("check"):
        return f"{extra['check']}: {extra.get('reason') or ''}".strip()
    if record.get("errorMessage"):
        return str(record["errorMessage"])
    return ""


def table(records: Iterable[dict[str, Any]], *, width: int = 160) -> str:
    """A fixed-width table: time, event, who, source address, result, detail."""
    rows = [("TIME", "EVENT", "PRINCIPAL", "SOURCE", "RESULT", "DETAIL")]
    for r in records:
        rows.append((str(r.get("eventTime", "-")), str(r.get("eventName", "-")), _who(r),
                     str(r.get("sourceIPAddress") or "-"), str(r.get("errorCode") or "OK"),
                     _detail(r)))
    widths = [min(max(len(row[i]) for row in rows), cap)
              for i, cap in enumerate((20, 28, 60, 39, 32, 10_000))]
    lines = []
    for row in rows:
        cells = [(c if len(c) <= w else c[: w - 1] + "…").ljust(w)
                 for c, w in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip()[:width] if width else "  ".join(cells).rstrip())
    return "\n".join(lines)
