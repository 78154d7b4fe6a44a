"""What logging costs the request path: the same requests against servers that differ
only in their logs, in one run (``make bench-logs``; see bench/README.md).

Three ``roleport serve --http`` processes (one worker each, SQLite, stderr to a file as
a service manager would capture it): no access log, the access log (the default), and
the access log plus the audit trail to a file. Each round sends every server the same
number of CreateSession and GetCallerIdentity requests (pre-signed, over keep-alive
connections from a few client threads), alternating servers so a busy machine hurts them
alike, and reads the server's CPU seconds from /proc. The table shows requests/s and CPU
per request, each relative to the server without logs (the median of the rounds).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import (  # noqa: E402
    REGION,
    Prepared,
    admin_key,
    cpu_seconds,
    free_port,
    process_tree,
    session_requests,
    setup_sessions,
    wait_http,
)

CONFIGS = {
    "no logs": ["--no-access-log"],
    "access log": [],
    "access log + audit trail": ["--audit-log", "{data}/audit.log"],
}


def start(name: str, flags: list[str], root: Path, src: str | None = None) -> dict[str, Any]:
    data = root / name.replace(" ", "-").replace("+", "and")
    data.mkdir()
    port = free_port()
    cmd = [sys.executable, "-m", "roleport.cli.main", "serve", "--http", "--port", str(port),
           "--data-dir", str(data), "--workers", "1",
           *[f.format(data=data) for f in flags]]
    log = (data / "server.log").open("wb")
    env = {**os.environ, "PYTHONPATH": src} if src else None
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    wait_http(endpoint + "/_roleport/health", timeout=120)
    return {"name": name, "proc": proc, "endpoint": endpoint, "port": port, "data": data}


def caller_identity_requests(server: dict[str, Any], setup: Any, count: int) -> list[Prepared]:
    """GetCallerIdentity signed with credentials from one CreateSession."""
    import json

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    first = session_requests(setup, 1, f"127.0.0.1:{server['port']}")[0]
    conn = http.client.HTTPConnection("127.0.0.1", server["port"])
    conn.request("POST", first.path, first.body, first.headers)
    creds = json.loads(conn.getresponse().read())["credentialSet"][0]["credentials"]
    conn.close()
    credentials = Credentials(creds["accessKeyId"], creds["secretAccessKey"],
                              creds["sessionToken"])
    body = "Action=GetCallerIdentity&Version=2011-06-15"
    out = []
    for _ in range(count):
        req = AWSRequest(method="POST", url=server["endpoint"] + "/", data=body.encode(),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        SigV4Auth(credentials, "sts", REGION).add_auth(req)
        out.append(Prepared("POST", "/", dict(req.headers.items()), body))
    return out


def drive(port: int, requests: list[Prepared], threads: int) -> tuple[float, int]:
    """Send ``requests`` over ``threads`` keep-alive connections: (seconds, failures)."""
    failures = [0]
    parts = [requests[i::threads] for i in range(threads)]

    def work(part: list[Prepared]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for r in part:
            conn.request(r.method, r.path, r.body, r.headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status >= 300:
                failures[0] += 1
        conn.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(p,)) for p in parts]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - started, failures[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=600, help="CreateSession per round")
    parser.add_argument("--calls", type=int, default=1500,
                        help="GetCallerIdentity per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8, help="client connections")
    parser.add_argument("--baseline-src", metavar="DIR",
                        help="also run the access log of another Roleport source tree (a "
                             "'src' folder, e.g. `git archive main src | tar -x -C DIR`), "
                             "to compare with a version before this one")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="roleport-logcost-") as tmp:
        servers = [start(name, flags, Path(tmp)) for name, flags in CONFIGS.items()]
        if args.baseline_src:
            servers.append(start("access log (baseline src)", [], Path(tmp),
                                 str(Path(args.baseline_src).resolve())))
        try:
            for s in servers:
                setup = setup_sessions(s["endpoint"], admin_key(s["data"]), "ec")
                s["work"] = {
                    "CreateSession": session_requests(setup, args.sessions,
                                                      f"127.0.0.1:{s['port']}"),
                    "GetCallerIdentity": caller_identity_requests(s, setup, args.calls)}
                s["seen"] = {op: [] for op in s["work"]}
            for s in servers:  # warm up: caches, subject records, code paths
                for op in s["work"]:
                    drive(s["port"], s["work"][op][:100], args.threads)
            for _ in range(args.rounds):
                for op in ("CreateSession", "GetCallerIdentity"):
                    for s in servers:
                        pids = process_tree(s["proc"].pid)
                        cpu0 = cpu_seconds(pids)
                        seconds, failed = drive(s["port"], s["work"][op], args.threads)
                        cpu = cpu_seconds(pids) - cpu0
                        n = len(s["work"][op])
                        if failed:
                            raise SystemExit(f"{s['name']}: {failed} of {n} {op} failed")
                        s["seen"][op].append((n / seconds, cpu / n * 1000))
        finally:
            for s in servers:
                s["proc"].terminate()
                s["proc"].wait(30)
        audit = servers[2]["data"] / "audit.log"
        records = sum(1 for _ in audit.open()) if audit.exists() else 0
        print(f"\n{args.rounds} rounds; per round and server {args.sessions} CreateSession, "
              f"{args.calls} GetCallerIdentity; {args.threads} client connections; "
              f"1 worker; medians. Audit records written: {records}.\n")
        print(f"| {'server':<26} | {'operation':<17} | {'req/s':>7} | {'vs no logs':>10} | "
              f"{'CPU ms/req':>10} | {'vs no logs':>10} |")
        print(f"|{'-' * 28}|{'-' * 19}|{'-' * 9}:|{'-' * 11}:|{'-' * 11}:|{'-' * 11}:|")
        for op in ("CreateSession", "GetCallerIdentity"):
            base_rate = statistics.median(r for r, _ in servers[0]["seen"][op])
            base_cpu = statistics.median(c for _, c in servers[0]["seen"][op])
            for s in servers:
                rate = statistics.median(r for r, _ in s["seen"][op])
                cpu = statistics.median(c for _, c in s["seen"][op])
                print(f"| {s['name']:<26} | {op:<17} | {rate:>7.0f} | {rate / base_rate:>10.3f} "
                      f"| {cpu:>10.3f} | {cpu / base_cpu:>10.3f} |")


if __name__ == "__main__":
    main()
