"""Roleport benchmark suite (``make bench``; see bench/README.md).

Starts real servers through their CLIs (Roleport's ``roleport serve``, moto's
``moto_server``), drives them with ``wrk`` replaying pre-signed requests, and reports for
each scenario: requests/s, p50/p99 latency, errors, server CPU seconds per request, peak
server RSS, and the reference measured in the same run (the cryptography alone for
CreateSession, moto for IAM/STS). Results go to stdout as a table and to a JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LUA = HERE / "lua" / "replay.lua"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
REGION = "us-east-1"
# capacity is measured here, not AWS's request quotas: one client address and a few
# certificates would be throttled at 10 CreateSessions a second (`roleport serve` reads it)
os.environ.setdefault("ROLEPORT_NO_RATE_LIMITS", "1")


# -- processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except OSError:
            continue
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            continue
    return total / CLK_TCK


def rss_bytes(pids: list[int]) -> int:
    """Memory of the server's processes: the sum of their PSS (proportional set size), so
    pages the pre-forked workers share are counted once, not once per worker; RSS where
    the kernel has no smaps_rollup."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                total += next(int(line.split()[1]) * 1024 for line in fh
                              if line.startswith("Pss:"))
        except (OSError, StopIteration):
            try:
                with open(f"/proc/{p}/statm") as fh:
                    total += int(fh.read().split()[1]) * PAGE
            except OSError:
                continue
    return total


def wait_http(url: str, timeout: float = 30.0) -> float:
    import urllib.request

    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status < 500:
                    return time.perf_counter() - start
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.01)
    raise RuntimeError(f"{url} never answered")


@dataclass
class Server:
    name: str
    command: list[str]
    health_url: str
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    startup_seconds: float = 0.0

    def start(self) -> Server:
        started = time.perf_counter()
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL,
                                        env={**os.environ, **self.env})
        wait_http(self.health_url)
        self.startup_seconds = time.perf_counter() - started
        return self

    def pids(self) -> list[int]:
        assert self.process is not None
        return process_tree(self.process.pid)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def roleport_server(data_dir: Path, port: int, *, database_url: str | None = None,
                    workers: int = 2) -> Server:
    cmd = [sys.executable, "-m", "roleport.cli.main", "serve", "--http", "--port", str(port),
           "--data-dir", str(data_dir), "--no-access-log", "--log-level", "warning",
           "--workers", str(workers)]
    if database_url:
        cmd += ["--database-url", database_url]
    return Server("roleport", cmd, f"http://127.0.0.1:{port}/_roleport/health")


# -- requests ------------------------------------------------------------------------------


@dataclass
class Prepared:
    method: str
    path: str
    headers: dict[str, str]
    body: str = ""


def lua_requests(reqs: list[Prepared], path: Path) -> None:
    def q(s: str) -> str:
        return json.dumps(s)

    lines = ["return {"]
    for r in reqs:
        headers = ", ".join(f"[{q(k)}] = {q(v)}" for k, v in r.headers.items()
                            if k.lower() != "host")
        lines.append(f"  {{method = {q(r.method)}, path = {q(r.path)}, "
                     f"headers = {{{headers}}}, body = {q(r.body)}}},")
    lines.append("}")
    path.write_text("\n".join(lines))


def sigv4(endpoint: str, method: str, path: str, service: str, key: tuple[str, str],
          body: str = "", content_type: str = "application/json") -> Prepared:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = {"Content-Type": content_type} if body else {}
    req = AWSRequest(method=method, url=endpoint + path, data=body.encode(), headers=headers)
    SigV4Auth(Credentials(*key), service, REGION).add_auth(req)
    return Prepared(method, path, dict(req.headers.items()), body)


def run_wrk(url: str, reqs: list[Prepared], connections: int, duration: int,
            server: Server | None, workdir: Path) -> dict[str, Any]:
    lua_file = workdir / f"reqs-{uuid.uuid4().hex}.lua"
    lua_requests(reqs, lua_file)
    threads = 1 if connections <= 64 else 2
    pids = server.pids() if server else []
    peak = [rss_bytes(pids)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            peak.append(rss_bytes(pids))

    sampler = threading.Thread(target=sample, daemon=True)
    cpu0 = cpu_seconds(pids)
    sampler.start()
    proc = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d",
                           f"{duration}s", "--timeout", "5s", "-s", str(LUA), url],
                          capture_output=True, text=True, env={**os.environ,
                                                              "REQUESTS": str(lua_file)})
    stop.set()
    sampler.join()
    cpu = cpu_seconds(pids) - cpu0
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {proc.stdout}\n{proc.stderr}")
    data = json.loads(line[len("WRK_JSON "):])
    seconds = data["duration_us"] / 1e6
    data["rps"] = data["requests"] / seconds if seconds else 0.0
    data["cpu_per_request_ms"] = cpu / data["requests"] * 1000 if data["requests"] else None
    data["peak_rss_mb"] = max(peak) / 1e6 if pids else None
    return data


# -- results -------------------------------------------------------------------------------


@dataclass
class Result:
    scenario: str
    connections: int | None = None
    rps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int | None = None
    cpu_per_request_ms: float | None = None
    peak_rss_mb: float | None = None
    reference: str = ""
    reference_value: float | None = None
    ratio: float | None = None
    note: str = ""


def table(results: list[Result]) -> str:
    head = ["scenario", "conns", "req/s", "p50 ms", "p99 ms", "errors", "cpu ms/req",
            "mem MB", "reference", "ref value", "ratio"]
    rows = [head]

    def f(v: Any, digits: int = 1) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.{digits}f}"
        return str(v)

    for r in results:
        rows.append([r.scenario, f(r.connections), f(r.rps, 0), f(r.p50_ms, 2), f(r.p99_ms, 2),
                     f(r.errors), f(r.cpu_per_request_ms, 3), f(r.peak_rss_mb, 0), r.reference,
                     f(r.reference_value, 3), f(r.ratio, 2)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


# -- setup through the real API ------------------------------------------------------------


def admin_key(data_dir: Path) -> tuple[str, str]:
    data = json.loads((data_dir / "admin-credentials.json").read_text())
    return data["accessKeyId"], data["secretAccessKey"]


def boto(service: str, endpoint: str, key: tuple[str, str]) -> Any:
    import boto3

    return boto3.session.Session().client(service, region_name=REGION, endpoint_url=endpoint,
                                          aws_access_key_id=key[0],
                                          aws_secret_access_key=key[1])


TRUST_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "rolesanywhere.amazonaws.com"},
    "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}]})


@dataclass
class SessionSetup:
    trust_anchor_arn: str
    profile_arn: str
    role_arn: str
    leaves: list[Any]
    chain: list[Any]


def setup_sessions(endpoint: str, key: tuple[str, str], key_type: str) -> SessionSetup:
    from roleport.crypto import devpki

    root = devpki.create_root_ca(f"Bench {key_type} root", key_type=key_type)
    inter = devpki.create_intermediate_ca(root, cn=f"Bench {key_type} intermediate",
                                          key_type=key_type)
    # twenty workloads, each with its own certificate, as a fleet would look
    leaves = [devpki.issue_leaf(inter, f"bench-{key_type}-client-{i}", key_type=key_type)
              for i in range(20)]
    ra, iam = boto("rolesanywhere", endpoint, key), boto("iam", endpoint, key)
    ta = ra.create_trust_anchor(name=f"bench-{key_type}", enabled=True, source={
        "sourceType": "CERTIFICATE_BUNDLE",
        "sourceData": {"x509CertificateData": root.cert_pem}})["trustAnchor"]
    role_name = f"bench-{key_type}-{uuid.uuid4().hex[:6]}"
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=TRUST_POLICY)["Role"]
    profile = ra.create_profile(name=f"bench-{key_type}", roleArns=[role["Arn"]],
                                enabled=True)["profile"]
    return SessionSetup(ta["trustAnchorArn"], profile["profileArn"], role["Arn"], leaves,
                        leaves[0].intermediates)


def session_requests(setup: SessionSetup, count: int, host: str) -> list[Prepared]:
    from roleport.auth.verifier import SigningRequest
    from roleport.auth.x509 import sign_x509_request

    out = []
    now = datetime.now(timezone.utc)
    for i in range(count):
        body = json.dumps({"profileArn": setup.profile_arn, "roleArn": setup.role_arn,
                           "trustAnchorArn": setup.trust_anchor_arn, "durationSeconds": 3600,
                           "sessionName": f"b{i}"})
        base = SigningRequest("POST", "/sessions", "", [("host", host), (
            "content-type", "application/json")], body.encode())
        leaf = setup.leaves[i % len(setup.leaves)]
        signed = sign_x509_request(base, certificate=leaf.certificate, sign=leaf.key.sign,
                                   region=REGION, now=now, chain=setup.chain)
        headers = {k: v for k, v in signed.headers if k != "host"}
        out.append(Prepared("POST", "/sessions", headers, body))
    return out


def crypto_floor(setup: SessionSetup, requests: list[Prepared], seconds: float = 2.0) -> float:
    """Seconds per CreateSession spent in the cryptography alone: verify the request
    signature with the leaf's key and the leaf's path through the intermediate."""
    from roleport.auth.sigv4 import canonical_request, payload_hash, string_to_sign
    from roleport.crypto.certificates import load_der_base64
    from roleport.crypto.paths import TrustStore, validate_path
    from roleport.crypto.signatures import verify_request_signature

    store = TrustStore([setup.leaves[0].root])
    prepared = []
    for r in requests[:50]:
        auth = r.headers["authorization"]
        algorithm = auth.split(" ", 1)[0]
        signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
        signature = auth.rsplit("Signature=", 1)[1]
        headers = [(k.lower(), v) for k, v in r.headers.items()] + [("host", "floor")]
        creq = canonical_request("POST", "/sessions", "", headers, signed,
                                 payload_hash(r.body.encode()))
        sts = string_to_sign(algorithm, r.headers["x-amz-date"],
                             auth.split("Credential=")[1].split(",")[0].split("/", 1)[1], creq)
        prepared.append((r, algorithm, sts, signature))
    n, start = 0, time.perf_counter()
    now = datetime.now(timezone.utc)
    while time.perf_counter() - start < seconds:
        r, algorithm, sts, signature = prepared[n % len(prepared)]
        leaf = load_der_base64(r.headers["x-amz-x509"])
        chain = [load_der_base64(c) for c in r.headers["x-amz-x509-chain"].split(",")]
        verify_request_signature(leaf, algorithm, sts.encode(), signature, lenient=False)
        validate_path(leaf, chain, store, now)
        n += 1
    return (time.perf_counter() - start) / n


# -- scenarios -----------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.results: list[Result] = []
        self.work = Path(tempfile.mkdtemp(prefix="roleport-bench-"))

    def add(self, result: Result) -> None:
        self.results.append(result)
        print(table([result]).splitlines()[-1], flush=True)

    def measure(self, name: str, url: str, reqs: list[Prepared], conns: int,
                server: Server, **extra: Any) -> Result:
        d = run_wrk(url, reqs, conns, self.args.duration, server, self.work)
        result = Result(name, conns, d["rps"], d["p50_ms"], d["p99_ms"], d["errors"],
                        d["cpu_per_request_ms"], d["peak_rss_mb"], **extra)
        self.add(result)
        return result

    def roleport(self, tag: str, database_url: str | None = None) -> tuple[Server, Path]:
        data = self.work / f"data-{tag}"
        port = free_port()
        server = roleport_server(data, port, database_url=database_url,
                                 workers=self.args.workers).start()
        return server, data

    def control_plane(self, moto_rps: dict[str, float]) -> None:
        server, data = self.roleport("cp")
        try:
            endpoint = f"http://127.0.0.1:{server.health_url.split(':')[2].split('/')[0]}"
            key = admin_key(data)
            ra, iam = boto("rolesanywhere", endpoint, key), boto("iam", endpoint, key)
            profiles = [ra.create_profile(name=f"p{i}", roleArns=[
                "arn:aws:iam::123456789012:role/bench"])["profile"] for i in range(60)]
            iam.create_role(RoleName="bench", AssumeRolePolicyDocument=TRUST_POLICY)
            scenarios = {
                "GetProfile": [sigv4(endpoint, "GET", f"/profile/{p['profileId']}",
                                     "rolesanywhere", key) for p in profiles[:20]],
                "ListProfiles (pageSize 50)": [sigv4(endpoint, "GET", "/profiles?pageSize=50",
                                                     "rolesanywhere", key)],
                "GetRole": [sigv4(endpoint, "POST", "/", "iam", key,
                                  "Action=GetRole&RoleName=bench&Version=2010-05-08",
                                  "application/x-www-form-urlencoded")],
                "GetCallerIdentity": [sigv4(endpoint, "POST", "/", "sts", key,
                                            "Action=GetCallerIdentity&Version=2011-06-15",
                                            "application/x-www-form-urlencoded")],
            }
            for name, reqs in scenarios.items():
                ref = moto_rps.get(name)
                r = self.measure(name, endpoint, reqs, 64, server,
                                 reference="moto req/s" if ref else "",
                                 reference_value=ref)
                if ref:
                    r.ratio = r.rps / ref
        finally:
            server.stop()

    def moto(self) -> dict[str, float]:
        if shutil.which("moto_server") is None:
            print("moto_server not installed: skipping the moto reference", file=sys.stderr)
            return {}
        port = free_port()
        server = Server("moto", ["moto_server", "-p", str(port)],
                        f"http://127.0.0.1:{port}/moto-api/").start()
        try:
            endpoint = f"http://127.0.0.1:{port}"
            key = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
            boto("iam", endpoint, key).create_role(RoleName="bench",
                                                   AssumeRolePolicyDocument=TRUST_POLICY)
            out = {}
            for name, service, body in [
                    ("GetRole", "iam", "Action=GetRole&RoleName=bench&Version=2010-05-08"),
                    ("GetCallerIdentity", "sts",
                     "Action=GetCallerIdentity&Version=2011-06-15")]:
                reqs = [sigv4(endpoint, "POST", "/", service, key, body,
                              "application/x-www-form-urlencoded")]
                r = self.measure(f"moto {name}", endpoint, reqs, 64, server)
                out[name] = r.rps
            return out
        finally:
            server.stop()

    def sessions(self, db: str, database_url: str | None) -> None:
        server, data = self.roleport(f"sessions-{db}", database_url)
        try:
            endpoint = f"http://127.0.0.1:{server.health_url.split(':')[2].split('/')[0]}"
            key = admin_key(data)
            for key_type in self.args.key_types:
                setup = setup_sessions(endpoint, key, key_type)
                reqs = session_requests(setup, 200, endpoint.split("://", 1)[1])
                floor = crypto_floor(setup, session_requests(setup, 50, "floor"))
                for conns in self.args.connections:
                    r = self.measure(f"CreateSession {key_type} ({db})", endpoint, reqs, conns,
                                     server, reference="crypto ms/req",
                                     reference_value=floor * 1000)
                    if r.cpu_per_request_ms:
                        r.ratio = r.cpu_per_request_ms / (floor * 1000)
        finally:
            server.stop()

    def subjects(self) -> None:
        for count in self.args.subject_counts:
            data = self.work / f"data-subjects-{count}"
            port = free_port()
            server = roleport_server(data, port, workers=self.args.workers).start()
            server.stop()
            fill_subjects(data / "roleport.db", count)
            server.start()
            try:
                endpoint = f"http://127.0.0.1:{port}"
                reqs = [sigv4(endpoint, "GET", "/subjects", "rolesanywhere", admin_key(data))]
                self.measure(f"ListSubjects first page ({count:,} subjects)", endpoint, reqs, 16,
                             server)
            finally:
                server.stop()

    def startup(self) -> None:
        data = self.work / "data-startup"
        port = free_port()
        first = roleport_server(data, port, workers=1).start()
        first.stop()
        times = []
        for _ in range(3):
            s = roleport_server(data, port, workers=1).start()
            times.append(s.startup_seconds)
            s.stop()
        self.add(Result("startup to healthy (existing database)", rps=None,
                        p50_ms=statistics.median(times) * 1000, note="median of 3"))


def fill_subjects(db_path: Path, count: int, account: str = "123456789012") -> None:
    """Insert subjects straight into SQLite (the API only creates them via CreateSession)."""
    now = int(time.time() * 1_000_000)
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA journal_mode=WAL")
    batch = []
    for i in range(count):
        dn = f"CN=subject-{i},O=Bench"
        batch.append((str(uuid.UUID(int=random.getrandbits(128), version=4)), account, REGION,
                      "[]", now, now, f"{i:064x}", dn, 1, now, "[]", "[]"))
        if len(batch) == 50_000:
            _insert(conn, batch)
            batch = []
    if batch:
        _insert(conn, batch)
    conn.commit()
    conn.close()


def _insert(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    conn.executemany("INSERT INTO subjects (id, account_id, region, tags, created_at, updated_at,"
                     " subject_key, x509_subject, enabled, last_seen_at, credentials,"
                     " instance_properties) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per measurement")
    parser.add_argument("--workers", type=int, default=2, help="roleport serve --workers")
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--key-types", nargs="+", default=["ec", "rsa"])
    parser.add_argument("--subject-counts", type=int, nargs="+", default=[1_000, 1_000_000])
    parser.add_argument("--postgres-url", default=os.environ.get(
        "ROLEPORT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--only", nargs="+", default=["startup", "control", "sessions",
                                                      "subjects"])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    bench = Bench(args)
    print(f"Roleport bench on {platform.node()} ({os.cpu_count()} cores), "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", flush=True)
    try:
        if "startup" in args.only:
            bench.startup()
        if "control" in args.only:
            bench.control_plane(bench.moto())
        if "sessions" in args.only:
            bench.sessions("sqlite", None)
            if args.postgres_url:
                bench.sessions("postgresql", fresh_pg_database(args.postgres_url))
        if "subjects" in args.only:
            bench.subjects()
    finally:
        shutil.rmtree(bench.work, ignore_errors=True)
    print()
    print(table(bench.results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "date": datetime.now(timezone.utc).isoformat(), "machine": platform.platform(),
        "cores": os.cpu_count(), "args": {k: str(v) for k, v in vars(args).items()},
        "results": [asdict(r) for r in bench.results]}, indent=2))
    print(f"\nwritten: {args.out}")


def fresh_pg_database(admin_url: str) -> str:
    import psycopg

    name = f"roleport_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


if __name__ == "__main__":
    main()
