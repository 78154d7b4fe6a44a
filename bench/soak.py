"""Soak: mixed traffic at ~80% of the measured peak for a long while (``make soak``).

One run: start ``roleport serve --http --workers N`` (SQLite; the access log on; request
rate limits off, since one client address and a few certificates would be throttled at
AWS's quotas; the queue bound at its default), set up a trust anchor, profile and role, then

1. **peak**: drive it closed-loop (every connection sends as soon as it has its answer)
   for ``--peak-seconds`` with the mix below and take requests/s as the peak;
2. **soak**: pace the same mix at ``--load`` x that peak for ``--seconds``, and every
   ``--window`` seconds record requests, errors (anything but 2xx, and socket errors),
   p50/p99 latency and the memory of the server's processes (RSS sum, and PSS sum, where
   pages the pre-forked workers share count once).

Mix: 40% CreateSession (20 certificates), 20% GetProfile + ListTrustAnchors, 20% IAM
GetRole, 20% STS GetCallerIdentity. Requests are signed beforehand and signed again every
two minutes (the signature window is five). The client is asyncio in one process, on the
same machine: the peak is the peak of this client and server together.

The run fails (exit status 1) on any error or when memory is not flat: the least-squares
slope of RSS over the soak, after the first window, extrapolated over the run, must stay
within 5% of the mean (or 5 MB). Results: ``bench/results/soak-<time>.json`` and the table
in bench/README.md (between the soak markers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from run import (  # type: ignore[import-not-found]  # bench/ is on sys.path as a script
    PAGE,
    TRUST_POLICY,
    Prepared,
    Server,
    admin_key,
    boto,
    free_port,
    process_tree,
    rss_bytes,
    session_requests,
    setup_sessions,
    sigv4,
)

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
START, END = "<!-- soak:start -->", "<!-- soak:end -->"
FORM = "application/x-www-form-urlencoded"


@dataclass
class Window:
    at_seconds: float
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    rss_mb: float
    pss_mb: float


@dataclass
class Report:
    started: str
    machine: str
    workers: int
    connections: int
    seconds: float
    load: float
    peak_rps: float
    target_rps: float
    achieved_rps: float = 0.0
    requests: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    p99_ms: float = 0.0
    rss_slope_mb_per_min: float = 0.0
    rss_change_mb: float = 0.0
    pss_slope_mb_per_min: float = 0.0
    pss_change_mb: float = 0.0
    memory_flat: bool = True
    windows: list[Window] = field(default_factory=list)


# -- the traffic -------------------------------------------------------------------------


class Mix:
    """Signed requests of the mix, renewed before their signatures age out."""

    def __init__(self, endpoint: str, key: tuple[str, str]) -> None:
        self.endpoint, self.key = endpoint, key
        ra, iam = boto("rolesanywhere", endpoint, key), boto("iam", endpoint, key)
        self.sessions = setup_sessions(endpoint, key, "ec")
        self.profiles = [ra.create_profile(name=f"soak{i}", roleArns=[self.sessions.role_arn])
                         ["profile"]["profileId"] for i in range(5)]
        iam.create_role(RoleName="soak", AssumeRolePolicyDocument=TRUST_POLICY)
        self.host = endpoint.split("//", 1)[1]
        self.requests: list[bytes] = []
        self.signed_at = 0.0
        self.renew()

    def renew(self) -> None:
        e, k = self.endpoint, self.key
        control = [sigv4(e, "GET", f"/profile/{p}", "rolesanywhere", k) for p in self.profiles]
        control.append(sigv4(e, "GET", "/trustanchors", "rolesanywhere", k))
        iam = [sigv4(e, "POST", "/", "iam", k, "Action=GetRole&RoleName=soak&Version=2010-05-08",
                     FORM)]
        sts = [sigv4(e, "POST", "/", "sts", k, "Action=GetCallerIdentity&Version=2011-06-15",
                     FORM)]
        sessions = session_requests(self.sessions, 40, self.host)
        # 40% sessions, 20% control plane, 20% IAM, 20% STS, in a shuffled cycle of 100
        cycle = ([sessions[i % 40] for i in range(40)] + [control[i % len(control)]
                 for i in range(20)] + iam * 20 + sts * 20)
        random.Random(7).shuffle(cycle)
        self.requests = [self._wire(r) for r in cycle]
        self.signed_at = time.monotonic()

    def _wire(self, r: Prepared) -> bytes:
        body = r.body.encode()
        lines = [f"{r.method} {r.path} HTTP/1.1", f"Host: {self.host}",
                 *(f"{k}: {v}" for k, v in r.headers.items() if k.lower() != "host"),
                 f"Content-Length: {len(body)}", "", ""]
        return "\r\n".join(lines).encode() + body


class Recorder:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}

    def take(self) -> tuple[list[float], dict[str, int]]:
        out = self.latencies, self.errors
        self.latencies, self.errors = [], {}
        return out


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
               raw: bytes) -> int:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    await reader.readexactly(int(length.group(1)) if length else 0)
    return status


async def connection(address: tuple[str, int], mix: Mix, recorder: Recorder, stop_at: float,
                     interval: float | None, offset: int) -> None:
    """One keep-alive connection: closed-loop (``interval`` None) or paced."""
    reader = writer = None
    i, next_at = offset, time.monotonic() + (interval or 0) * random.random()
    while time.monotonic() < stop_at:
        if interval is not None:
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            next_at += interval
        raw = mix.requests[i % len(mix.requests)]
        i += 1
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(*address)
            status = await asyncio.wait_for(_one(reader, writer, raw), 30)  # type: ignore[arg-type]
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as exc:
            recorder.errors[type(exc).__name__] = recorder.errors.get(type(exc).__name__, 0) + 1
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        recorder.latencies.append(time.perf_counter() - started)
        if not 200 <= status < 300:
            recorder.errors[f"HTTP {status}"] = recorder.errors.get(f"HTTP {status}", 0) + 1
    if writer is not None:
        writer.close()


# -- memory ------------------------------------------------------------------------------


def rss_sum(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * PAGE
        except OSError:
            continue
    return total


def slope(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


# -- the run -----------------------------------------------------------------------------


async def drive(address: tuple[str, int], mix: Mix, connections: int, seconds: float,
                rate: float | None, on_window, window: float) -> None:  # noqa: ANN001
    recorder = Recorder()
    stop_at = time.monotonic() + seconds
    interval = connections / rate if rate else None
    tasks = [asyncio.create_task(connection(address, mix, recorder, stop_at, interval, i * 7))
             for i in range(connections)]
    started = time.monotonic()
    while time.monotonic() < stop_at:
        await asyncio.sleep(min(window, max(0.0, stop_at - time.monotonic())))
        if time.monotonic() - mix.signed_at > 120:
            await asyncio.to_thread(mix.renew)
        on_window(time.monotonic() - started, *recorder.take())
    await asyncio.gather(*tasks)
    on_window(time.monotonic() - started, *recorder.take())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get(
        "SOAK_SECONDS", 600)), help="soak duration (default 600, or $SOAK_SECONDS)")
    parser.add_argument("--peak-seconds", type=float, default=15)
    parser.add_argument("--load", type=float, default=0.8, help="fraction of the peak")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--window", type=float, default=10)
    parser.add_argument("--no-readme", action="store_true", help="leave bench/README.md")
    parser.add_argument("--from-json", type=Path, help="only rewrite the README table from "
                        "the results file of an earlier run")
    args = parser.parse_args()
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        report = Report(**{**saved, "windows": [Window(**w) for w in saved["windows"]]})
        summarise(report)
        update_readme(readme_table(report, args.from_json.name))
        return 0

    data = Path(tempfile.mkdtemp(prefix="roleport-soak-"))
    port = free_port()
    server = Server("roleport", [
        sys.executable, "-m", "roleport.cli.main", "serve", "--http", "--port", str(port),
        "--data-dir", str(data), "--workers", str(args.workers), "--log-level", "warning",
        "--no-rate-limits"],
        f"http://127.0.0.1:{port}/_roleport/health").start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        mix = Mix(endpoint, admin_key(data))
        address = ("127.0.0.1", port)
        peak: list[int] = []
        peak_errors: dict[str, int] = {}

        def count_peak(_at: float, latencies: list[float], errors: dict[str, int]) -> None:
            peak.append(len(latencies))
            for k, v in errors.items():
                peak_errors[k] = peak_errors.get(k, 0) + v

        asyncio.run(drive(address, mix, args.connections, args.peak_seconds, None, count_peak,
                          args.peak_seconds))
        peak_rps = sum(peak) / args.peak_seconds
        report = Report(datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                        f"{platform.node()} ({os.cpu_count()} cores, Python "
                        f"{platform.python_version()})", args.workers, args.connections,
                        args.seconds, args.load, round(peak_rps, 1),
                        round(peak_rps * args.load, 1))
        print(f"peak {peak_rps:.0f} req/s (closed loop, {args.connections} connections; "
              f"errors {peak_errors or 0}); soaking at {report.target_rps:.0f} req/s "
              f"for {args.seconds:.0f} s", flush=True)
        all_latencies: list[float] = []

        def record(at: float, latencies: list[float], errors: dict[str, int]) -> None:
            pids = process_tree(server.process.pid)
            w = Window(round(at, 1), len(latencies), sum(errors.values()),
                       round(percentile(latencies, 0.5), 2), round(percentile(latencies, 0.99), 2),
                       round(rss_sum(pids) / 2**20, 1), round(rss_bytes(pids) / 2**20, 1))
            report.windows.append(w)
            all_latencies.extend(latencies)
            for k, v in errors.items():
                report.error_kinds[k] = report.error_kinds.get(k, 0) + v
            print(f"  {w.at_seconds:7.1f}s  {w.requests:6d} req  {w.errors} err  "
                  f"p50 {w.p50_ms:6.1f} ms  p99 {w.p99_ms:6.1f} ms  RSS {w.rss_mb:6.1f} MB  "
                  f"PSS {w.pss_mb:6.1f} MB", flush=True)

        asyncio.run(drive(address, mix, args.connections, args.seconds, report.target_rps,
                          record, args.window))
    finally:
        server.stop()

    summarise(report, all_latencies)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d-%H%M")
    out = HERE / "results" / f"soak-{stamp}.json"
    out.write_text(json.dumps(asdict(report), indent=2) + "\n")
    table = readme_table(report, out.name)
    print(table)
    if not args.no_readme:
        update_readme(table)
    ok = report.errors == 0 and report.memory_flat
    print(f"{'PASS' if ok else 'FAIL'}: {report.errors} errors, RSS slope "
          f"{report.rss_slope_mb_per_min:+.3f} MB/min ({report.rss_change_mb:+.2f} MB over the "
          f"run), results in {out}")
    return 0 if ok else 1


def summarise(report: Report, latencies: list[float] | None = None) -> None:
    """Totals, p99 and the memory slopes (least squares after the first window)."""
    windows = [w for w in report.windows if w.requests]
    report.requests = sum(w.requests for w in windows)
    report.errors = sum(report.error_kinds.values())
    report.achieved_rps = round(report.requests / report.seconds, 1)
    if latencies is not None:
        report.p99_ms = round(percentile(latencies, 0.99), 2)
    steady = windows[1:] or windows
    rss = [(w.at_seconds / 60, w.rss_mb) for w in steady]
    pss = [(w.at_seconds / 60, w.pss_mb) for w in steady]
    report.rss_slope_mb_per_min = round(slope(rss), 3)
    report.rss_change_mb = round(report.rss_slope_mb_per_min * report.seconds / 60, 2)
    report.pss_slope_mb_per_min = round(slope(pss), 3)
    report.pss_change_mb = round(report.pss_slope_mb_per_min * report.seconds / 60, 2)
    mean_rss = statistics.fmean(y for _, y in rss) if rss else 0.0
    report.memory_flat = abs(report.rss_change_mb) <= max(5.0, 0.05 * mean_rss)


def readme_table(report: Report, filename: str) -> str:
    # the stragglers answered after the last full window count in the totals, not as a row
    windows = [w for i, w in enumerate(report.windows) if w.requests and not (
        i and w.at_seconds - report.windows[i - 1].at_seconds < 1.0)]
    step = max(1, -(-len(windows) // 10))  # at most 10 rows
    rows = []
    for i in range(0, len(windows), step):
        group = windows[i:i + step]
        seconds = group[-1].at_seconds - (windows[i - 1].at_seconds if i else 0)
        rps = sum(w.requests for w in group) / seconds
        rows.append(f"| {group[-1].at_seconds:.0f} | {rps:,.0f}"
                    f" | {sum(w.errors for w in group)} | {max(w.p99_ms for w in group):.1f} |"
                    f" {group[-1].rss_mb:.1f} | {group[-1].pss_mb:.1f} |")
    return "\n".join([
        f"Run of {report.started} (`results/{filename}`), {report.machine}; "
        f"`roleport serve --workers {report.workers} --http --no-rate-limits`, SQLite, access "
        "log on; "
        f"{report.connections} keep-alive connections from one asyncio client on the same "
        "machine.",
        "",
        "| duration | peak req/s | load | target req/s | achieved req/s | requests | errors "
        "| p99 ms | RSS slope | PSS slope | memory flat |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {report.seconds:.0f} s | {report.peak_rps:,.0f} | {report.load:.0%} | "
        f"{report.target_rps:,.0f} | {report.achieved_rps:,.0f} | {report.requests:,} | "
        f"{report.errors} | {report.p99_ms:.1f} | {report.rss_slope_mb_per_min:+.3f} MB/min "
        f"({report.rss_change_mb:+.2f} MB over the run) | {report.pss_slope_mb_per_min:+.3f} "
        f"MB/min ({report.pss_change_mb:+.2f} MB) | {'yes' if report.memory_flat else 'NO'} |",
        "",
        *([f"The machine did not hold the target rate (achieved {report.achieved_rps:,.0f} of "
           f"{report.target_rps:,.0f} req/s): it was busy with other work, and the paced "
           "client then sends as soon as it can, which shows as latency.", ""]
          if report.achieved_rps < 0.9 * report.target_rps else []),
        "| at s | req/s | errors | p99 ms (worst window) | RSS MB | PSS MB |",
        "|---|---|---|---|---|---|",
        *rows,
    ])


def update_readme(table: str) -> None:
    text = README.read_text()
    block = f"{START}\n{table}\n{END}"
    if START in text and END in text:
        text = text[:text.index(START)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n## Soak (`make soak`)\n\n" + block + "\n"
    README.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
