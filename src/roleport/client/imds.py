"""``serve``: a local credentials endpoint the AWS SDKs read unchanged.

Two protocols on one listener:

* **IMDSv2**, as EC2's instance metadata service and the official helper speak it
  (``AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9911/``)::

      PUT /latest/api/token                      x-aws-ec2-metadata-token-ttl-seconds: 1..21600
      GET /latest/meta-data/iam/security-credentials/          -> role name
      GET /latest/meta-data/iam/security-credentials/ROLE      -> credentials JSON

  GETs need ``x-aws-ec2-metadata-token`` (401 otherwise, unless IMDSv1 is allowed). A
  token PUT carrying ``X-Forwarded-For`` is refused (400), as EC2 does, and one without
  a TTL header too (the official helper defaults it to 21600). At most 256 live tokens.
* **Container credentials** (ECS), when an authorization token is configured::

      GET /v1/credentials        Authorization: <token>      -> credentials JSON

  for ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` + ``AWS_CONTAINER_AUTHORIZATION_TOKEN``.

Fixed against the official helper: any listen address (IPv6 too); ``Content-Type`` and the
TTL header on every response; credentials come from a
:class:`~roleport.client.cache.RefreshingCredentials` refreshed in the background, and
when none are valid the answer is an error (IMDS: ``{"Code": "CredentialsUnavailableError",
"Message": ...}`` as EC2 reports credential errors; ECS: 503), never empty strings.
``--hop-limit`` sets the IP TTL / IPv6 hop limit of each accepted connection, so the
answers cannot travel further than intended (64 by default; 1 keeps them on the host
for a container on a bridge network to be refused).

Hostile bytes (docs/security.md, "Parsing client bytes"): request line and headers are
bounded by :mod:`http.server` (64 KiB a line, 100 headers: 414/431); no request here has
a body, so one that declares a body is refused (400) and the connection closed, rather
than its bytes being read as a second request; a connection idle or trickling for
:data:`READ_TIMEOUT_SECONDS` is closed; control characters in what the client sent are
escaped before they reach the log.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from roleport.client.cache import CredentialsUnavailableError, RefreshingCredentials
from roleport.client.credentials import format_time
from roleport.client.errors import OutputError

__all__ = ["DEFAULT_HOP_LIMIT", "DEFAULT_PORT", "ECS_PATH", "CredentialServer", "ServeOptions"]

DEFAULT_PORT = 9911
DEFAULT_HOP_LIMIT = 64
MAX_TOKEN_TTL = 21600
MAX_TOKENS = 256
TOKEN_PATH = "/latest/api/token"  # noqa: S105 - a URL path, not a secret
CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials"
ECS_PATH = "/v1/credentials"
#: a connection that sends nothing for this long is closed (one thread each while open)
READ_TIMEOUT_SECONDS = 10.0
TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "x-aws-ec2-metadata-token"  # noqa: S105 - a header name


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    hop_limit: int = DEFAULT_HOP_LIMIT
    role_name: str = "roleport"
    #: container-credentials token; None disables /v1/credentials
    ecs_token: str | None = None
    #: answer IMDS GETs without a session token (IMDSv1)
    allow_imdsv1: bool = False


class _Tokens:
    """Live IMDSv2 session tokens and their expiry (at most MAX_TOKENS)."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        self._now = now

    def issue(self, ttl: int) -> str:
        token = base64.urlsafe_b64encode(secrets.token_bytes(75)).decode()
        with self._lock:
            now = self._now()
            self._tokens = {t: e for t, e in self._tokens.items() if e > now}
            while len(self._tokens) >= MAX_TOKENS:
                del self._tokens[min(self._tokens, key=self._tokens.__getitem__)]
            self._tokens[token] = now + ttl
        return token

    def remaining(self, token: str) -> int | None:
        """Seconds left for ``token``, or None when unknown or expired."""
        with self._lock:
            expiry = next((e for t, e in self._tokens.items()
                           if hmac.compare_digest(t.encode(), token.encode())), None)
        if expiry is None:
            return None
        left = expiry - self._now()
        return int(left) if left > 0 else None


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"
    server_version = "roleport-signing-helper"
    sys_version = ""
    timeout = READ_TIMEOUT_SECONDS

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # the request line is the client's: no terminal escapes or forged lines in our log
        line = (format % args).translate(_CONTROL_CHARACTERS)
        self.server.owner.log(f"{self.address_string()} {line}")

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        declared = self.headers.get("Content-Length", "0").strip()
        if declared != "0" or self.headers.get("Transfer-Encoding") is not None:
            self.close_connection = True
            self._send(400, "Bad Request: this endpoint takes no request body\n")
            return False
        return True

    # -- responses ----------------------------------------------------------------------

    def _send(self, status: int, body: str, content_type: str = "text/plain",
              headers: dict[str, str] | None = None) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _path(self) -> str:
        path = self.path.split("?", 1)[0]
        return path.rstrip("/") or "/"

    # -- IMDS ---------------------------------------------------------------------------

    def do_PUT(self) -> None:
        if self._path() != TOKEN_PATH:
            self._send(404, "Not Found\n")
            return
        if self.headers.get("X-Forwarded-For") is not None:
            self._send(400, "Bad Request: X-Forwarded-For is not allowed\n")
            return
        raw = self.headers.get(TTL_HEADER)
        if raw is None:
            self._send(400, f"Bad Request: the {TTL_HEADER} header is required\n")
            return
        try:
            ttl = int(raw.strip())
        except ValueError:
            ttl = 0
        if not 1 <= ttl <= MAX_TOKEN_TTL:
            self._send(400, f"Bad Request: invalid token TTL (1..{MAX_TOKEN_TTL})\n")
            return
        token = self.server.tokens.issue(ttl)
        self._send(200, token, headers={TTL_HEADER: str(ttl)})

    def _token_ttl(self) -> int | bool | None:
        """Remaining TTL of the request's token; False after a 401 was sent."""
        token = self.headers.get(TOKEN_HEADER)
        if token is None:
            if self.server.options.allow_imdsv1:
                return None
            self._send(401, "Unauthorized: no token provided\n")
            return False
        remaining = self.server.tokens.remaining(token.strip())
        if remaining is None:
            self._send(401, "Unauthorized: invalid token provided\n")
            return False
        return remaining

    def do_GET(self) -> None:
        path = self._path()
        if path == ECS_PATH:
            self._ecs()
            return
        if path == TOKEN_PATH:
            self._send(405, "Method Not Allowed\n", headers={"Allow": "PUT"})
            return
        role = self.server.options.role_name
        if path not in (CREDENTIALS_PATH, f"{CREDENTIALS_PATH}/{role}"):
            self._send(404, "Not Found\n")
            return
        ttl = self._token_ttl()
        if ttl is False:
            return
        headers = {TTL_HEADER: str(ttl)} if isinstance(ttl, int) else {}
        if path == CREDENTIALS_PATH:
            self._send(200, role, headers=headers)
            return
        try:
            creds = self.server.credentials.get()
        except CredentialsUnavailableError as exc:
            body = {"Code": "CredentialsUnavailableError", "Message": exc.message,
                    "LastUpdated": format_time_now()}
            self._send(200, json.dumps(body, indent=2), "application/json", headers)
            return
        self._send(200, creds.imds_json(), "application/json", headers)

    do_HEAD = do_GET  # noqa: N815

    def _ecs(self) -> None:
        expected = self.server.options.ecs_token
        if expected is None:
            self._send(404, "Not Found\n")
            return
        given = self.headers.get("Authorization", "")
        if not hmac.compare_digest(given.strip().encode(), expected.encode()):
            body = {"code": "AccessDenied", "message": "missing or wrong Authorization token"}
            self._send(401 if not given else 403, json.dumps(body), "application/json")
            return
        try:
            creds = self.server.credentials.get()
        except CredentialsUnavailableError as exc:
            body = {"code": "CredentialsUnavailableError", "message": exc.message}
            self._send(503, json.dumps(body), "application/json")
            return
        self._send(200, creds.ecs_json(), "application/json")

    def do_POST(self) -> None:
        self._send(405 if self._path() == TOKEN_PATH else 404, "Not Allowed\n")

    do_DELETE = do_PATCH = do_POST  # noqa: N815


#: C0 controls and DEL as \xNN, as http.server's own log_message escapes them
_CONTROL_CHARACTERS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}


def format_time_now() -> str:
    from datetime import UTC, datetime

    return format_time(datetime.now(UTC))


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: CredentialServer
    tokens: _Tokens
    options: ServeOptions
    credentials: RefreshingCredentials

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        hop = self.options.hop_limit
        try:
            if conn.family == socket.AF_INET6:
                conn.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, hop)
            else:
                conn.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, hop)
        except OSError as exc:
            self.owner.log(f"cannot set hop limit {hop}: {exc}")
        return conn, address


class CredentialServer:
    """The listener; ``start()`` binds (OutputError if it cannot), ``serve_forever()``."""

    def __init__(self, credentials: RefreshingCredentials, options: ServeOptions, *,
                 log: Callable[[str], None] | None = None) -> None:
        self.credentials = credentials
        self.options = options
        self.log = log or (lambda line: None)
        self._server: _HttpServer | None = None

    def start(self) -> CredentialServer:
        host = self.options.host.strip("[]")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET

        class Server(_HttpServer):
            address_family = family

        try:
            server = Server((host, self.options.port), _Handler, bind_and_activate=True)
        except OSError as exc:
            raise OutputError(f"cannot listen on {self.options.host} port {self.options.port}: "
                              f"{exc.strerror or exc}") from None
        server.owner = self
        server.tokens = _Tokens()
        server.options = self.options
        server.credentials = self.credentials
        self._server = server
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        host = self.options.host.strip("[]")
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    def serve_forever(self) -> None:
        assert self._server is not None
        self._server.serve_forever(poll_interval=0.1)

    def start_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="roleport-serve", daemon=True)
        thread.start()
        return thread

    def shutdown(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
