"""A/B: what the metrics cost one CreateSession.

A: the metric updates one CreateSession makes (request counter + latency histogram, the
   CreateSession counter with its trust anchor/profile labels), timed in a loop, in
   one-process mode and in the multiprocess mode of ``serve --workers N`` (values in
   mmapped files).
B: one real CreateSession against ``roleport serve --http`` (sequential, one client),
   with metrics as they are and with the metric updates replaced by no-ops (through
   ``ROLEPORT_BENCH_NO_METRICS``, read by this script's sitecustomize only).

    .venv/bin/python bench/metrics_overhead.py [--sessions 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path


def _metric_updates(n: int) -> float:
    from roleport.server.observability import Metrics

    metrics = Metrics()
    best = float("inf")
    for _ in range(5):  # the best of five: a shared machine only ever adds time
        started = time.perf_counter()
        for _ in range(n):
            metrics.request_done("rolesanywhere", "CreateSession", 201, 0.004)
            metrics.session_done("issued", None, (), "61f50cd4-45b9-4259-b049-d0a53682fa4b",
                                 "8c6a2b7e-0000-4000-8000-000000000001")
        best = min(best, (time.perf_counter() - started) / n * 1e6)
    return best


def _in_fresh_process(code: str, env: dict[str, str]) -> float:
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, **env}, check=True)
    return float(out.stdout.strip())


def _sessions(n: int, no_metrics: bool) -> list[float]:
    from roleport.testing import RoleportServer

    env = {}
    if no_metrics:
        hook = Path(tempfile.mkdtemp(prefix="roleport-bench-"))
        (hook / "sitecustomize.py").write_text(textwrap.dedent("""
            from roleport.server import observability as o
            o.Metrics.request_done = lambda *a, **k: None
            o.Metrics.session_done = lambda *a, **k: None
        """))
        env["PYTHONPATH"] = f"{hook}:{os.environ.get('PYTHONPATH', '')}"
    with RoleportServer(http=True, extra_args=["--no-access-log"], env=env) as srv:
        setup = srv.setup_roles_anywhere()
        from roleport.client.sessions import SessionClient, SessionRequest, resolve_endpoint
        from roleport.client.signers import FileSigner

        cert = setup.client_certificate
        client = SessionClient(
            signer=FileSigner(cert.certificate_path, cert.private_key_path, cert.chain_path),
            endpoint=resolve_endpoint(endpoint=srv.endpoint, region=setup.region,
                                      trust_anchor_arn=setup.trust_anchor_arn, ca_bundle=None),
            request=SessionRequest(trust_anchor_arn=setup.trust_anchor_arn,
                                   profile_arn=setup.profile_arn, role_arn=setup.role_arn))
        times = []
        try:
            for _ in range(20):
                client.create_session()  # warm-up
            for _ in range(n):
                t = time.perf_counter()
                client.create_session()
                times.append((time.perf_counter() - t) * 1000)
        finally:
            client.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=300)
    args = parser.parse_args()
    code = ("import sys; sys.path.insert(0, 'bench'); from metrics_overhead import "
            "_metric_updates as m; print(m(20000))")
    single = _in_fresh_process(code, {})
    with tempfile.TemporaryDirectory() as directory:
        multi = _in_fresh_process(
            "from roleport.server.observability import enable_multiprocess; "
            f"enable_multiprocess({directory!r}); " + code, {})
    print(f"A  metric updates per CreateSession: {single:.1f} us (one process), "
          f"{multi:.1f} us (multiprocess files)")
    rows = []
    for label, off in (("metrics on", False), ("metrics off", True), ("metrics on", False),
                       ("metrics off", True)):
        t = _sessions(args.sessions, off)
        rows.append((label, statistics.median(t), statistics.quantiles(t, n=100)[98]))
    print("B  CreateSession round trip, sequential, 1 worker (two rounds each, alternated)")
    for label, p50, p99 in rows:
        print(f"   {label:12s} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")


if __name__ == "__main__":
    main()
