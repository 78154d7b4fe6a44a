"""Run the server in one process, or pre-fork N worker processes on one address.

Each worker builds its own application (database pool, caches) after the fork, so
nothing with threads or connections crosses it. Where the system has SO_REUSEPORT
(Linux), each worker listens on a socket of its own at the parent's address and the
kernel spreads new connections evenly across them; with one shared listening socket,
whichever worker woke first would accept most of a burst of connections (57 of 64
measured with two workers) and serve them alone, with the latency that goes with it.

The parent only supervises: it forwards SIGTERM/SIGINT to the workers, waits for them to
stop, and replaces a worker that dies unexpectedly (with a pause when they keep dying, so
a crash loop cannot spin).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

log = logging.getLogger("roleport.server")

_CRASH_WINDOW_SECONDS = 5.0


def make_uvicorn_server(config: Any) -> Any:
    """uvicorn's server, except that SIGTERM/SIGINT are a clean stop with exit status 0
    (uvicorn re-raises the signal after shutting down, which makes the exit status -15)."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):  # type: ignore[override]  # noqa: ANN202
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, self.handle_exit)
            yield

        async def shutdown(self, sockets: Any = None) -> None:
            # An idle keep-alive TLS connection would hold the stop for the whole grace
            # period (closing it waits for the client's close_notify): drop idle ones.
            for connection in list(self.server_state.connections):
                transport = getattr(connection, "transport", None)
                cycle = getattr(connection, "cycle", None)
                if transport is not None and (cycle is None or cycle.response_complete):
                    transport.abort()
            await super().shutdown(sockets)

    return Server(config)


def available_cpus(cgroup_root: str = "/sys/fs/cgroup") -> int:
    """The cores this process may use: its CPU affinity, bounded by the cgroup's CPU quota
    (a container given 2 CPUs on a 64-core host gets 2, not 64). At least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = _cgroup_cpu_quota(cgroup_root)
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def _cgroup_cpu_quota(root: str) -> float | None:
    """CPUs allowed by the cgroup (v2 ``cpu.max``, else v1 ``cpu.cfs_quota_us`` over
    ``cpu.cfs_period_us``), or None when there is no quota or it cannot be read."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open(os.path.join(root, "cpu.max")) as fh:
            quota, period = fh.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    with contextlib.suppress(OSError, ValueError):
        with open(os.path.join(root, "cpu", "cpu.cfs_quota_us")) as fh:
            quota_us = int(fh.read())
        with open(os.path.join(root, "cpu", "cpu.cfs_period_us")) as fh:
            period_us = int(fh.read())
        return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us
    return None


def resolve_workers(value: str | int, *, limit: int = 64) -> int:
    """``--workers``: a number, or ``auto`` for one worker per available core."""
    if isinstance(value, int):
        return value
    if value == "auto":
        return min(limit, available_cpus())
    return int(value)


def reuse_port_supported() -> bool:
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listener_for_worker(sock: socket.socket) -> socket.socket:
    """The socket a worker accepts on: ``sock`` when it listens already, else a socket of
    the worker's own bound to the same address with SO_REUSEPORT (``sock`` reserves it)."""
    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        return sock
    own = socket.socket(sock.family, sock.type)
    own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    own.bind(sock.getsockname())
    own.listen(2048)
    return own


def run(make_server: Callable[[], Any], sock: socket.socket, workers: int) -> int:
    """Serve on ``sock`` until stopped; return the exit status."""
    if workers <= 1:
        make_server().run(sockets=[sock])
        return 0
    return _supervise(make_server, sock, workers)


def _stop_with_parent(parent: int) -> None:
    """Have the kernel send this worker SIGTERM when the supervisor dies, even by SIGKILL:
    an orphaned worker would go on serving (and holding the port) unsupervised. Linux only;
    elsewhere the supervisor's SIGTERM is the only stop."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:  # the supervisor died before the request took effect
        os._exit(0)


def _child(make_server: Callable[[], Any], sock: socket.socket, parent: int) -> None:
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _stop_with_parent(parent)
        make_server().run(sockets=[listener_for_worker(sock)])
    except BaseException:  # noqa: BLE001 - a worker must never return into the parent's code
        traceback.print_exc()
        status = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _supervise(make_server: Callable[[], Any], sock: socket.socket, workers: int) -> int:
    children: dict[int, float] = {}
    stopping = False
    sys.stdout.flush()  # or every worker would print what the parent had buffered
    sys.stderr.flush()

    parent = os.getpid()

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:
            _child(make_server, sock, parent)
        children[pid] = time.monotonic()

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(workers):
        spawn()
    failed = False
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        started = children.pop(pid, time.monotonic())
        if stopping:
            continue
        code = os.waitstatus_to_exitcode(status)
        log.error("worker %s exited with status %s; starting another", pid, code)
        failed = True
        if time.monotonic() - started < _CRASH_WINDOW_SECONDS:
            time.sleep(1.0)
        if not stopping:
            spawn()
    return 1 if failed and not stopping else 0
