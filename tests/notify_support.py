"""Test helpers for expiry notifications: a local webhook receiver that answers what it is
told, a clock tests move, and a PostgreSQL database of a test's own (the notifier reads
every account: other tests' trust anchors must not be in it)."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from roleport.ops import sinks


class MovableClock:
    def __init__(self, moment: datetime | None = None) -> None:
        self.moment = moment or datetime.now(UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


class Receiver:
    """An HTTP server on 127.0.0.1 recording each POST; ``statuses`` are answered in
    turn (the last one from then on)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [200])
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.requests.append((dict(self.headers.items()), body))
                    status = (receiver.statuses.pop(0) if len(receiver.statuses) > 1
                              else receiver.statuses[0])
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, secret: bytes | None = None) -> list[dict[str, Any]]:
        """Every body received (failed attempts too), each signature checked against
        ``secret`` when given."""
        out = []
        for headers, body in list(self.requests):
            if secret is not None:
                assert sinks.verify(secret, headers[sinks.TIMESTAMP_HEADER], body,
                                    headers[sinks.SIGNATURE_HEADER])
            out.append(json.loads(body))
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def own_postgres_database(postgres_url: str) -> Iterator[str]:
    """A new empty database on the server of ``postgres_url``, dropped afterwards."""
    import psycopg

    base, _, _ = postgres_url.rpartition("/")
    name = f"roleport_notify_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
