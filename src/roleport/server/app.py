"""create_app(settings): wiring only. The ASGI callable reads the request (bounded),
runs the pipeline on the event loop or on a worker thread (:mod:`roleport.offload`), and
writes the response, the audit record (before the response when fail-closed) and the
access log. Log lines are serialised here and written by background writers
(:mod:`roleport.ops.logwriter`), never on the request path.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from roleport import __version__
from roleport.auth.identities import AccessKeyLookup, CredentialLookup, SessionTokenLookup
from roleport.clock import Clock, SystemClock
from roleport.config import Settings
from roleport.console import PREFIX as CONSOLE_PREFIX
from roleport.console.app import ConsoleApp
from roleport.console.tokens import SessionTokens
from roleport.domain.crls import CrlService
from roleport.domain.freshness import ChangeCounter
from roleport.domain.pagination import PageTokens
from roleport.domain.profiles import ProfileService
from roleport.domain.subjects import SubjectService
from roleport.domain.tagging import TaggingService
from roleport.domain.trust_anchors import TrustAnchorService
from roleport.errors import RoleportError, ServiceUnavailableError, ValidationError
from roleport.iam.roles import RoleRegistry
from roleport.offload import MoveToThread
from roleport.ops.logwriter import LineWriter
from roleport.server.auditing import AuditTrail, audit_unavailable, cloudtrail_record
from roleport.ops.inventory import InventoryCollector
from roleport.ops.notifier import Notifier
from roleport.ops.scheduler import LeaderLoop
from roleport.server.acm_pca import AcmPcaReader
from roleport.server.auth_throttle import FailedAuthThrottle
from roleport.server.dispatch import LoopQueue
from roleport.server.http import Request
from roleport.server.observability import Metrics, log_line
from roleport.server.pipeline import Outcome, Pipeline, health_body
from roleport.server.providers.iam import IamProvider
from roleport.server.providers.rolesanywhere import RolesAnywhereProvider
from roleport.server.providers.sessions import build_sessions_provider
from roleport.server.providers.sts import StsProvider
from roleport.server.ratelimit import Rate
from roleport.server.request_limits import RequestThrottle
from roleport.server.shared_buckets import SharedBuckets
from roleport.spec.openapi import OPENAPI_PATH, openapi_document, served_operations
from roleport.spec.serializer import Response, serialize_error
from roleport.storage.sql.operations import SqlOperations
from roleport.storage.sql.unit_of_work import SqlStore
from roleport.sts.credentials import SessionCredentials
from roleport.sts.issuer import CredentialIssuer, build_issuer, role_registry
from roleport.sts.keyring import Keyring

SERVER_LOG_FD = 2  # stderr: the access log and the CreateSession decision lines
STDOUT_FD = 1


def _is_console(raw_path: str) -> bool:
    return raw_path == CONSOLE_PREFIX or raw_path.startswith(CONSOLE_PREFIX + "/")


class RequestTimeoutError(RoleportError):
    """The client sent the headers of a request but not its body in time."""

    code = "RequestTimeoutException"
    status = 408

HEALTH_PATH = "/_roleport/health"
METRICS_PATH = "/_roleport/metrics"
#: the OpenAPI document is the same for every server of a version: clients may cache it
_OPENAPI_CACHE = "public, max-age=3600"


@dataclass
class Services:
    """The domain services, built once per process."""

    trust_anchors: TrustAnchorService
    profiles: ProfileService
    crls: CrlService
    subjects: SubjectService
    tagging: TaggingService
    #: IAM role registry
    roles: RoleRegistry
    #: recognises the credentials this server (or a replica) minted
    session_credentials: SessionCredentials
    #: turns an approved session into credentials (built-in, or an upstream STS)
    issuer: CredentialIssuer
    #: bumped by every control-plane change, retiring CreateSession's short-lived copies
    changes: ChangeCounter


def build_services(settings: Settings, store: SqlStore, clock: Clock,
                   server_key: bytes, keyring: Keyring | None = None) -> Services:
    keyring = keyring or Keyring.of(server_key)
    tokens = PageTokens(server_key)
    changes = ChangeCounter()
    args = (store, clock, tokens, settings.quotas, changes)
    trust_anchors = TrustAnchorService(*args, private_ca=AcmPcaReader(
        endpoint=settings.acm_pca_endpoint, profile=settings.acm_pca_profile,
        timeout=settings.acm_pca_timeout_seconds))
    profiles = ProfileService(*args)
    crls = CrlService(*args)
    subjects = SubjectService(*args)
    tagging = TaggingService({"trust-anchor": trust_anchors, "profile": profiles, "crl": crls,
                              "subject": subjects})
    roles = role_registry(store, clock, keyring, changes)
    issuer = build_issuer(settings, store, keyring, clock, roles=roles)
    return Services(trust_anchors, profiles, crls, subjects, tagging, roles,
                    SessionCredentials(keyring, clock), issuer, changes)


class RoleportApp:
    """The ASGI application."""

    def __init__(self, settings: Settings, store: SqlStore, pipeline: Pipeline,
                 metrics: Metrics, console: ConsoleApp | None = None, *,
                 server_log: LineWriter | None = None,
                 audit: AuditTrail | None = None,
                 scheduler: LeaderLoop | None = None,
                 served: dict[str, list[str]] | None = None) -> None:
        self.settings = settings
        #: service name -> operations, for the OpenAPI document (built on first request)
        self.served = served or {}
        self._openapi: tuple[bytes, str] | None = None
        self.store = store
        self.pipeline = pipeline
        self.metrics = metrics
        self.console = console
        self.server_log = server_log or _writer(SERVER_LOG_FD, "server", settings, metrics)
        self.audit = audit
        self._writers = [self.server_log] + ([audit.writer] if audit else [])
        for writer in self._writers:
            writer.start()
        #: the expiry notification job (runs in one process of all workers and replicas)
        self.scheduler = scheduler
        self.started = time.time()
        #: requests past their body and not yet answered (on this worker's loop only)
        self.pending = 0
        #: requests refused because ``pending`` was at settings.max_pending_requests
        self.overloaded = 0
        self.request_throttle: RequestThrottle | None = None
        self.auth_throttle: FailedAuthThrottle | None = None
        self._loop_queue = LoopQueue() if settings.requests_on_loop else None
        self._executor = ThreadPoolExecutor(max_workers=settings.threads,
                                            thread_name_prefix="roleport")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        request = Request(
            method=scope["method"],
            raw_path=(scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
            .split("?", 1)[0],
            raw_query=scope.get("query_string", b"").decode("latin-1"),
            headers=[(k.decode("latin-1").lower(), v.decode("latin-1"))
                     for k, v in scope.get("headers", [])],
            client=(scope.get("client") or ("", 0))[0], request_id=request_id)
        outcome = Outcome()
        unread = await self._read_body(request, receive)
        if unread is not None:
            outcome.error_code = unread.code
            response = serialize_error(None, unread, request_id)
            if isinstance(unread, RequestTimeoutError):
                response.headers.append(("Connection", "close"))
        elif request.raw_path == HEALTH_PATH and request.method in ("GET", "HEAD"):
            response = await self._health(request_id)
        elif request.raw_path == METRICS_PATH and request.method == "GET":
            loop = asyncio.get_running_loop()
            body = await loop.run_in_executor(self._executor, self.metrics.exposition)
            response = Response(200, [("Content-Type", CONTENT_TYPE_LATEST)], body)
        elif request.raw_path == OPENAPI_PATH and request.method in ("GET", "HEAD"):
            response = self._openapi_response(request)
        elif self.console is not None and _is_console(request.raw_path):
            response = await asyncio.get_running_loop().run_in_executor(
                self._executor, self.console.handle, request, outcome)
        elif self.pending >= self.settings.max_pending_requests:
            self.overloaded += 1
            response = self.pipeline.refuse(request, ServiceUnavailableError(
                "The server is busy: too many requests are waiting. Retry shortly.",
                retry_after_seconds=1), outcome)
        else:
            self.pending += 1
            try:
                response, outcome = await self._handle(request, outcome)
                if self.audit is not None:
                    response = await self._audit(request, response, outcome)
            finally:
                self.pending -= 1
        await self._send(send, response)
        self._record(request, response, outcome, time.perf_counter() - started)

    async def _audit(self, request: Request, response: Response,
                     outcome: Outcome) -> Response:
        """Write the request's record; fail-closed, a record not written turns the
        response into a 503 (nothing issued) and the record goes to the server log."""
        assert self.audit is not None
        record = cloudtrail_record(request, outcome)
        if record is None or await self.audit.write(record):
            return response
        self.server_log.submit(log_line("audit record not written", {
            "request_id": request.request_id, "status": response.status,
            "answered": 503, "record": record}, level="error"))
        outcome.error_code = "ServiceUnavailableException"
        outcome.notes["cause"] = "the audit record could not be written"
        return serialize_error(outcome.service_model, audit_unavailable(), request.request_id)

    async def _handle(self, request: Request, outcome: Outcome) -> tuple[Response, Outcome]:
        if self._loop_queue is not None:
            try:
                return await self._loop_queue.run(self.pipeline.handle, request, outcome), outcome
            except MoveToThread:
                outcome = Outcome()  # the request starts again: nothing of the first run
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self._executor, self.pipeline.handle, request,
                                              outcome)
        return response, outcome

    async def _read_body(self, request: Request, receive: Any) -> RoleportError | None:
        """Read the body into ``request``, or say why not (too large, too slow)."""
        limit = self.settings.max_body_bytes
        too_large = ValidationError(f"The request body is larger than the limit of {limit} "
                                    f"bytes.")
        declared = request.header_map.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            return too_large
        timeout = self.settings.connection_limits.body_timeout_seconds
        deadline = asyncio.get_running_loop().time() + timeout
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                return RequestTimeoutError(f"The request body did not arrive within "
                                           f"{timeout:g} seconds.")
            if message["type"] == "http.disconnect":
                break
            body = message.get("body", b"")
            size += len(body)
            if size > limit:
                return too_large
            chunks.append(body)
            if not message.get("more_body", False):
                break
        request.body = b"".join(chunks)
        return None

    def _openapi_response(self, request: Request) -> Response:
        if self._openapi is None:
            body = json.dumps(openapi_document(self.served, version=__version__),
                              separators=(",", ":")).encode()
            self._openapi = body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        body, etag = self._openapi
        headers = [("Content-Type", "application/json"), ("Cache-Control", _OPENAPI_CACHE),
                   ("ETag", etag), ("x-amzn-RequestId", request.request_id)]
        if request.header_map.get("if-none-match") == etag:
            return Response(304, headers, b"")
        return Response(200, headers, b"" if request.method == "HEAD" else body)

    async def _health(self, request_id: str) -> Response:
        loop = asyncio.get_running_loop()
        db_ok = await loop.run_in_executor(self._executor, self.store.ping)
        body = health_body(db_ok, {"version": __version__, "database": "ok" if db_ok else
                                   "unreachable", "uptimeSeconds": int(time.time() -
                                                                       self.started)})
        return Response(200 if db_ok else 503, [("Content-Type", "application/json"),
                                               ("x-amzn-RequestId", request_id)], body)

    @staticmethod
    async def _send(send: Any, response: Response) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status,
                    "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    def _record(self, request: Request, response: Response, outcome: Outcome,
                elapsed: float) -> None:
        self.metrics.request_done(outcome.service, outcome.operation, response.status, elapsed)
        audit = outcome.session_audit
        if audit is not None:  # the CreateSession decision line (create-session.md)
            self.server_log.submit(log_line("CreateSession", {
                "log": "audit", "request_id": request.request_id, "client": request.client,
                "error": outcome.error_code, **audit.fields()}))
        if self.settings.access_log:
            self.server_log.submit(log_line("request", {
                "request_id": request.request_id, "method": request.method,
                "path": request.path, "status": response.status, "service": outcome.service,
                "operation": outcome.operation, "account": outcome.account_id,
                "principal": outcome.principal, "error": outcome.error_code,
                "latency_ms": round(elapsed * 1000, 2), "client": request.client,
                **outcome.notes}))

    def reopen_logs(self) -> None:
        """SIGHUP: reopen the log files (after rotation)."""
        for writer in self._writers:
            writer.reopen()

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP,
                                                                  self.reopen_logs)
                if self.scheduler is not None:
                    self.scheduler.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.scheduler is not None:
                    await asyncio.get_running_loop().run_in_executor(None, self.scheduler.stop)
                self._executor.shutdown(wait=False, cancel_futures=True)
                self.store.dispose()
                for writer in self._writers:  # every line of every finished request
                    writer.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(settings: Settings, *, store: SqlStore, server_key: bytes,
               clock: Clock | None = None, keyring: Keyring | None = None,
               rate_table: SharedBuckets | None = None) -> RoleportApp:
    """Wire the services, providers and pipeline for ``settings`` (storage is ready).

    ``rate_table`` holds the rate limits' buckets; pass one made before forking the
    workers so that they count together (by default the process gets its own)."""
    clock = clock or SystemClock()
    services = build_services(settings, store, clock, server_key, keyring)
    providers: dict[str, Any] = {
        "rolesanywhere": RolesAnywhereProvider(services.trust_anchors, services.profiles,
                                               services.crls, services.subjects,
                                               services.tagging),
        "iam": IamProvider(services.roles),
        "sts": StsProvider(services.issuer),
    }
    long_term = AccessKeyLookup(store)
    lookup = CredentialLookup(long_term, SessionTokenLookup(services.session_credentials))
    operations = SqlOperations(store)
    metrics = Metrics(InventoryCollector(operations, clock,
                                         end_entity_limit=settings.metrics_end_entity_limit))
    sessions = build_sessions_provider(settings, store, clock, services.issuer, metrics,
                                       changes=services.changes)
    throttle = limits = None
    if settings.auth_failure_rate > 0 or settings.request_rates.any:
        rate_table = rate_table or SharedBuckets(groups=1024)
    if settings.auth_failure_rate > 0:
        throttle = FailedAuthThrottle(Rate(settings.auth_failure_rate,
                                           settings.auth_failure_burst), table=rate_table)
    if settings.request_rates.any:
        limits = RequestThrottle(settings.request_rates, rate_table)
    audit = None
    if settings.audit_log:
        target = STDOUT_FD if settings.audit_log == "-" else settings.audit_log
        audit = AuditTrail(_writer(target, "audit", settings, metrics),
                           fail_closed=settings.audit_fail_closed)
    pipeline = Pipeline(providers, lookup, clock,
                        max_skew_seconds=settings.max_clock_skew_seconds,
                        x509_handler=sessions.create_session, throttle=throttle,
                        limits=limits,
                        admit=audit.admit if audit is not None and audit.fail_closed
                        else None)
    console = None
    if settings.console:
        # the same key cache and failed-auth throttle as the API: guessing a secret through
        # the sign-in form counts against the same buckets as through SigV4
        console = ConsoleApp(services=services, actions=providers["rolesanywhere"],
                             lookup=long_term,
                             tokens=SessionTokens(keyring or Keyring.of(server_key),
                                                  settings.console_session_seconds),
                             throttle=throttle, clock=clock, https=not settings.http,
                             default_region=settings.region)
    served = served_operations({**providers, "rolesanywhere-sessions": None})
    app = RoleportApp(settings, store, pipeline, metrics, console, audit=audit,
                      scheduler=_notification_scheduler(settings, operations, clock, metrics),
                      served=served)
    #: for metrics: ``request_throttle.throttled`` (a Counter by limit name, this process)
    #: and its ``on_throttle`` callback; ``app.overloaded`` counts full-queue refusals
    app.request_throttle = limits
    app.auth_throttle = throttle
    return app


def _writer(target: str | int, name: str, settings: Settings, metrics: Metrics) -> LineWriter:
    dropped = metrics.log_dropped.labels(name)
    return LineWriter(target, name=name, capacity=settings.log_buffer_lines,
                      on_drop=dropped.inc)


def _notification_scheduler(settings: Settings, operations: SqlOperations, clock: Clock,
                            metrics: Metrics) -> LeaderLoop | None:
    """The expiry notification job, when a sink is configured."""
    config = settings.notifications
    if not config.has_sinks:
        return None
    notifier = Notifier(operations, config.sinks(settings.data_dir), clock, metrics=metrics)
    return LeaderLoop(operations, "expiry-notifications", notifier.run_once,
                      interval=config.interval_seconds, clock=clock)
