"""Metrics across processes, for ``roleport serve``: the private directory of
prometheus-client's multiprocess mode (made before the workers fork, cleaned of dead
workers' live gauges, removed at exit) and the optional ``--metrics-port`` listener."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click
from prometheus_client import CONTENT_TYPE_LATEST

from roleport.server.observability import enable_multiprocess, worker_exited

__all__ = ["MetricsListener", "private_multiprocess_dir", "remove_multiprocess_dir",
           "supervisor_exposition", "worker_exited"]


def private_multiprocess_dir() -> Path:
    """A fresh 0700 directory for the workers' metric files, and multiprocess mode on
    (whatever PROMETHEUS_MULTIPROC_DIR said before: files of another run must not count)."""
    path = Path(tempfile.mkdtemp(prefix="roleport-metrics-"))
    enable_multiprocess(str(path))
    return path


def remove_multiprocess_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def supervisor_exposition(settings: Any) -> Callable[[], bytes]:
    """The supervisor's scrape: every worker's files, and the inventory from a database
    connection of its own (opened on the first scrape)."""
    from prometheus_client import CollectorRegistry, generate_latest

    from roleport.clock import SystemClock
    from roleport.ops.inventory import InventoryCollector
    from roleport.server.observability import scrape_registry
    from roleport.storage.sql import engine
    from roleport.storage.sql.operations import SqlOperations
    from roleport.storage.sql.unit_of_work import SqlStore

    state: dict[str, Any] = {}
    lock = threading.Lock()

    def exposition() -> bytes:
        with lock:
            if "inventory" not in state:
                store = SqlStore(engine.create(settings.resolved_database_url, pool_size=1))
                state["inventory"] = InventoryCollector(
                    SqlOperations(store), SystemClock(),
                    end_entity_limit=settings.metrics_end_entity_limit)
        return generate_latest(scrape_registry(CollectorRegistry(), state["inventory"]))

    return exposition


class MetricsListener:
    """The ``--metrics-port`` socket, bound early (a busy port fails before the server
    starts) and served once the process knows what to expose."""

    def __init__(self, host: str, port: int) -> None:
        self._exposition: Callable[[], bytes] | None = None
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                try:
                    assert listener._exposition is not None
                    body, status = listener._exposition(), 200
                except Exception:  # noqa: BLE001 - a failed scrape must not stop it
                    body, status = b"metrics unavailable\n", 503
                self.send_response(status)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass  # scrapes are not requests of the service: no access-log line

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            daemon_threads = True

        try:
            self._server = Server((host, port), Handler)
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port} for metrics: "
                                       f"{exc.strerror}") from None

    def start(self, exposition: Callable[[], bytes]) -> None:
        """Serve ``exposition()`` on a daemon thread."""
        self._exposition = exposition
        threading.Thread(target=self._server.serve_forever, name="roleport-metrics",
                         daemon=True).start()
