"""Connection limits of one worker, so that slow or idle clients cannot hold its sockets.

uvicorn bounds the idle time between two requests on a keep-alive connection (its
``timeout_keep_alive``), but not the time a client takes to send a request's headers: a
connection that sends half a request line, or nothing, stays open for good, and a
thousand of them exhaust the worker's file descriptors (a "slowloris"). Its own
``limit_concurrency`` only answers a plain-text 503 once a request's headers are complete,
which such connections never are.

:func:`guarded_protocol` wraps uvicorn's HTTP protocol class with two bounds:

* **header deadline**: from the moment a connection is accepted (or the previous response
  was sent) the client has ``header_timeout`` seconds to complete the next request's
  headers; then the connection is closed. The deadline is a total, not an idle timer, so
  a byte every few seconds does not extend it.
* **connection cap**: a worker holds at most ``max_connections`` connections; one accepted
  beyond it gets an AWS-shaped ``503 ServiceUnavailableException`` (which SDKs retry) and
  is closed at once, instead of waiting in a queue.

The body deadline (a request whose headers came but whose body does not) is the ASGI
application's, where the body is read (:class:`roleport.server.app.RoleportApp`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import resource
import uuid
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("roleport.server")

DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0
DEFAULT_BODY_TIMEOUT_SECONDS = 30.0
DEFAULT_KEEP_ALIVE_SECONDS = 5.0
DEFAULT_MAX_CONNECTIONS = 1000
#: bytes a client may send before its request's headers are complete (request line
#: included); httptools, unlike h11, has no such bound of its own
DEFAULT_MAX_HEADER_BYTES = 64 * 1024

#: descriptors a worker needs beside its connections (database, logs, listening socket...)
_SPARE_DESCRIPTORS = 256


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_seconds: float = DEFAULT_HEADER_TIMEOUT_SECONDS
    body_timeout_seconds: float = DEFAULT_BODY_TIMEOUT_SECONDS
    keep_alive_seconds: float = DEFAULT_KEEP_ALIVE_SECONDS
    #: per worker process
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES


def _error_response(status: str, code: str, message: str, extra: str = "") -> bytes:
    """An AWS-shaped JSON error, with a request id of its own as every answer has."""
    body = json.dumps({"message": message})
    head = (f"HTTP/1.1 {status}\r\n"
            "Content-Type: application/json\r\n"
            f"x-amzn-RequestId: {uuid.uuid4()}\r\n"
            f"x-amzn-ErrorType: {code}\r\n"
            f"{extra}"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n")
    return (head + body).encode()


def _busy_response() -> bytes:
    return _error_response("503 Service Unavailable", "ServiceUnavailableException",
                           "The server is at its connection limit. Retry shortly.",
                           "Retry-After: 1\r\nx-amz-retry-after: 1000\r\n")


def guarded_protocol(base: type[asyncio.Protocol], limits: ConnectionLimits) -> type:
    """``base`` (one of uvicorn's HTTP protocol classes) with the header deadline and the
    connection cap of ``limits``."""
    def too_large() -> bytes:
        return _error_response("431 Request Header Fields Too Large", "ValidationException",
                               f"The request headers exceed {limits.max_header_bytes} bytes.")

    class GuardedProtocol(base):  # type: ignore[misc, valid-type]
        _header_deadline: asyncio.TimerHandle | None = None
        _header_bytes = 0
        _header_tail = b""  #: the last bytes counted, for a blank line split across reads

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                log.warning("connection refused: %d connections open (limit %d)",
                            len(self.connections) - 1, limits.max_connections)
                transport.write(_busy_response())
                transport.close()
                return
            self._arm_header_deadline()

        def data_received(self, data: bytes) -> None:
            if not self._request_in_progress() and not self.transport.is_closing():
                # count the header bytes up to the blank line that ends them, before the
                # parser sees them: headers completed by the read that crosses the limit
                # (or sent in one read) must not slip through
                seen = self._header_tail + data
                end = seen.find(b"\r\n\r\n")
                size = self._header_bytes + (len(data) if end < 0
                                             else end + 4 - len(self._header_tail))
                if size > limits.max_header_bytes:
                    log.info("connection closed: request headers over %d bytes",
                             limits.max_header_bytes)
                    self.transport.write(too_large())
                    self.transport.close()
                    return
                self._header_bytes += len(data)
                self._header_tail = seen[-3:]
            super().data_received(data)
            if self._request_in_progress():
                self._disarm_header_deadline()
                self._header_bytes, self._header_tail = 0, b""

        def send_400_response(self, msg: str) -> None:
            # uvicorn's own answer to bytes it cannot parse is plain text without a
            # request id: answer in AWS's shape, as every other error
            log.info("connection closed: %s", msg)
            self.transport.write(_error_response(
                "400 Bad Request", "ValidationException",
                f"The request could not be read as HTTP/1.1 ({msg.rstrip('.')})."))
            self.transport.close()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and not self._request_in_progress():
                self._arm_header_deadline()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_deadline()
            super().connection_lost(exc)

        # -- the deadline ----------------------------------------------------------

        def _request_in_progress(self) -> bool:
            cycle = getattr(self, "cycle", None)
            return cycle is not None and not cycle.response_complete

        def _arm_header_deadline(self) -> None:
            self._disarm_header_deadline()
            self._header_bytes, self._header_tail = 0, b""
            self._header_deadline = self.loop.call_later(limits.header_timeout_seconds,
                                                         self._header_deadline_passed)

        def _disarm_header_deadline(self) -> None:
            if self._header_deadline is not None:
                self._header_deadline.cancel()
                self._header_deadline = None

        def _header_deadline_passed(self) -> None:
            self._header_deadline = None
            if self._request_in_progress() or self.transport.is_closing():
                return
            log.debug("connection closed: no complete request headers within %ss",
                      limits.header_timeout_seconds)
            self.transport.close()

    GuardedProtocol.__name__ = GuardedProtocol.__qualname__ = f"Guarded{base.__name__}"
    return GuardedProtocol


def raise_descriptor_limit(limits: ConnectionLimits) -> None:
    """Raise the process's soft limit of open files so that the connection cap, not the
    limit, is what stops accepting (within the hard limit; never lowers it)."""
    wanted = limits.max_connections + _SPARE_DESCRIPTORS
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            if target < wanted:
                log.warning("open-file limit %d is below --max-connections %d plus %d spare; "
                            "raise it (ulimit -n)", hard, limits.max_connections,
                            _SPARE_DESCRIPTORS)
