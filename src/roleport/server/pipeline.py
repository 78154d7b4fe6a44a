"""One request, start to finish: service, authentication, route, parse, validate,
dispatch, serialize. Synchronous; the ASGI app runs it on its event loop or on a worker
thread (see :mod:`roleport.offload`).

Every failure becomes an AWS-style error response. Unexpected exceptions become a 500
``InternalFailure`` naming the request id; the stack trace goes to the server log only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from botocore import xform_name

from roleport.auth.codes import wire_code
from roleport.auth.identities import Identity
from roleport.auth.verifier import (
    access_key_id_of,
    read_signed_request,
    service_and_region_of,
    verify,
)
from roleport.clock import Clock
from roleport.domain.context import Caller, Scope
from roleport.errors import (
    AccessDeniedError,
    AuthenticationError,
    InternalError,
    RoleportError,
    ServiceUnavailableError,
)
from roleport.offload import MoveToThread
from roleport.server.auth_throttle import FailedAuthThrottle
from roleport.server.http import Request
from roleport.server.request_limits import RequestThrottle
from roleport.spec.models import Service, services_for_signing_name
from roleport.spec.parser import parse_form, parse_query, parse_rest_json
from roleport.spec.router import Match, QueryRouter, RestRouter
from roleport.spec.serializer import Response, serialize, serialize_error
from roleport.spec.unsupported import refuse_unsupported
from roleport.spec.validator import validate
from roleport.storage.base import StorageError

log = logging.getLogger("roleport.server")

_JSON_TYPES = {"", "application/json", "application/x-amz-json-1.0",
               "application/x-amz-json-1.1", "binary/octet-stream"}
_FORM_TYPE = "application/x-www-form-urlencoded"
X509_PREFIX = "AWS4-X509-"


class UnknownServiceError(RoleportError):
    code = "UnknownServiceException"
    status = 400


class UnsupportedMediaTypeError(RoleportError):
    code = "UnsupportedMediaTypeException"
    status = 400


@dataclass
class Outcome:
    """What the access log and the metrics want to know about one request."""

    service: str = "-"
    operation: str = "-"
    account_id: str = "-"
    principal: str = "-"
    error_code: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)


class Pipeline:
    def __init__(self, providers: dict[str, Any], lookup: Callable[..., Any], clock: Clock,
                 *, max_skew_seconds: int = 300,
                 x509_handler: Callable[[Request, Match, dict[str, Any], Outcome], dict] | None
                 = None, throttle: FailedAuthThrottle | None = None,
                 limits: RequestThrottle | None = None) -> None:
        self._providers = providers
        self._lookup = lookup
        self._clock = clock
        self._max_skew = timedelta(seconds=max_skew_seconds)
        self._x509_handler = x509_handler
        self._throttle = throttle
        self._limits = limits
        self._rest_routers: dict[str, RestRouter] = {}
        self._query_routers: dict[str, QueryRouter] = {}
        self._methods: dict[tuple[str, str], Callable[..., Any]] = {}

    # -- the steps ---------------------------------------------------------------

    def _services(self, signing_name: str) -> tuple[Service, ...]:
        services = services_for_signing_name(signing_name)
        if not services or services[0].name not in self._providers:
            served = ", ".join(sorted(n for n in ("rolesanywhere", "iam", "sts")
                                      if n in self._providers))
            raise UnknownServiceError(
                f"Roleport does not serve the service '{signing_name}' named in the "
                f"credential scope. Services served here: {served}.")
        return services

    def _explain_unreadable_signature(self, request: Request) -> None:
        """No credential scope could be read: say precisely why (always raises)."""
        signing = request.signing_request()
        if request.method == "POST" and request.raw_path.rstrip("/").endswith("/sessions"):
            # CreateSession answers every signature problem as AWS does
            raise AccessDeniedError("Invalid signature: the Authorization header could not "
                                    "be read (expected AWS4-X509-* Credential=<serial>/"
                                    "<date>/<region>/rolesanywhere/aws4_request, ...)."
                                    if signing.header_values("authorization") else
                                    "Invalid signature: the request is not signed.")
        if signing.header_values("authorization") or "X-Amz-" in request.raw_query:
            read_signed_request(signing, now=self._clock.now(), expected_service=None,
                                max_skew=self._max_skew)
            raise AuthenticationError("incomplete", "The credential scope of the signature "
                                      "could not be read.")
        raise AuthenticationError("missing", "Missing Authentication Token")

    def _authenticate(self, request: Request, service: str) -> Identity:
        try:
            verified = verify(request.signing_request(), self._lookup, now=self._clock.now(),
                              expected_service=service, max_skew=self._max_skew)
        except AuthenticationError as exc:
            if self._throttle is not None:
                self._throttle.failed(request.client,
                                      access_key_id_of(request.signing_request()), exc.kind)
            raise
        identity: Identity = verified.identity  # type: ignore[assignment]
        if identity.services is not None and service not in identity.services:
            raise AuthenticationError(
                "not-authorized", f"User: {identity.principal_arn} is not authorized to call "
                f"{service}: credentials minted by Roleport may call "
                f"{', '.join(sorted(identity.services))} only; use the account's admin keys.")
        return identity

    def _method(self, service: Service, operation: str) -> Callable[..., Any]:
        key = (service.name, operation)
        method = self._methods.get(key)
        if method is None:
            method = getattr(self._providers[service.name], xform_name(operation), None)
            if method is None:
                raise RoleportError(f"The operation {operation} is not implemented by "
                                    f"Roleport.", code="NotImplemented", status=501)
            self._methods[key] = method
        return method

    def _rest_router(self, signing_name: str, services: tuple[Service, ...]) -> RestRouter:
        router = self._rest_routers.get(signing_name)
        if router is None:
            router = self._rest_routers[signing_name] = RestRouter(services)
        return router

    def _query_router(self, service: Service) -> QueryRouter:
        router = self._query_routers.get(service.name)
        if router is None:
            router = self._query_routers[service.name] = QueryRouter(service)
        return router

    # -- the whole request ---------------------------------------------------------

    def handle(self, request: Request, outcome: Outcome) -> Response:
        service: Service | None = None
        try:
            scope = service_and_region_of(request.signing_request())
            if scope is None:
                self._explain_unreadable_signature(request)
            signing_name, region = scope
            if request.header_map.get("authorization", "").startswith(X509_PREFIX):
                # only CreateSession is signed with a certificate: a scope naming another
                # service is a bad signature (AWS: "Invalid signature"), not another API
                signing_name = "rolesanywhere"
            services = self._services(signing_name)
            service = services[0]
            outcome.service = signing_name
            if self._throttle is not None:
                self._throttle.check_source(request.client)
            if service.protocol == "query":
                response = self._handle_query(request, service, region, outcome)
            else:
                response = self._handle_rest(request, signing_name, services, region, outcome)
            return response
        except AuthenticationError as exc:
            exc.code = wire_code(exc.kind, service.protocol if service else None)
            return self._error(service, exc, request, outcome)
        except RoleportError as exc:
            return self._error(service, exc, request, outcome)
        except StorageError as exc:
            log.error("storage failure", extra={"request_id": request.request_id,
                                                "error": str(exc)})
            err = ServiceUnavailableError("The service is temporarily unavailable: the "
                                          "database did not answer. Retry shortly.",
                                          retry_after_seconds=1)
            return self._error(service, err, request, outcome)
        except MoveToThread:
            raise  # not a failure: the app runs the request again on a thread
        except Exception:
            log.exception("unexpected failure", extra={"request_id": request.request_id})
            err = InternalError(f"An internal error occurred. Request id: "
                                f"{request.request_id}.")
            return self._error(service, err, request, outcome)

    def refuse(self, request: Request, exc: RoleportError, outcome: Outcome) -> Response:
        """``exc`` in the error shape of the service the request names, without running
        it (an overloaded worker's answer)."""
        service = None
        try:
            scope = service_and_region_of(request.signing_request())
            services = services_for_signing_name(scope[0]) if scope else ()
            if services and services[0].name in self._providers:
                service = services[0]
                outcome.service = scope[0]  # type: ignore[index]
        except RoleportError:
            pass
        return self._error(service, exc, request, outcome)

    def _error(self, service: Service | None, exc: RoleportError, request: Request,
               outcome: Outcome) -> Response:
        if exc.query_code is not None and service is not None \
                and service.protocol == "query":
            exc.code, exc.status = exc.query_code, exc.query_status or exc.status
        outcome.error_code = exc.code
        if exc.detail:  # the precise cause: the access log line, never the response
            outcome.notes["cause"] = exc.detail
        return serialize_error(service, exc, request.request_id)

    def _handle_rest(self, request: Request, signing_name: str, services: tuple[Service, ...],
                     region: str, outcome: Outcome) -> Response:
        if request.content_type not in _JSON_TYPES:
            raise UnsupportedMediaTypeError(
                f"Unsupported Content-Type '{request.content_type}': this API takes "
                f"application/json.")
        authorization = request.header_map.get("authorization", "")
        x509 = authorization.startswith(X509_PREFIX)
        identity = None
        if not x509:
            identity = self._authenticate(request, signing_name)
            outcome.account_id = identity.account_id
            outcome.principal = identity.principal_arn
        match = self._rest_router(signing_name, services).match(
            request.method, request.raw_path, request.query)
        outcome.operation = match.operation.name
        is_sessions = match.service.name == "rolesanywhere-sessions"
        if x509 != is_sessions:
            raise AuthenticationError(
                "incomplete", "POST /sessions is signed with an X.509 certificate "
                "(AWS4-X509-*); every other operation with AWS4-HMAC-SHA256."
                if is_sessions else f"Operation {match.operation.name} must be signed with "
                "AWS4-HMAC-SHA256, not an X.509 certificate.")
        if self._limits is not None:
            if x509:  # before any cryptography
                self._limits.create_session(request.client,
                                            request.header_map.get("x-amz-x509", ""))
            else:
                assert identity is not None
                self._limits.authenticated(signing_name, match.operation.name,
                                           identity.access_key_id)
        params = parse_rest_json(match.operation, match.path_params, request.query,
                                 request.header_map, request.body)
        validate(match.operation.input_shape, params)
        refuse_unsupported(match.service.name, match.operation.name, params)
        if x509:
            if self._x509_handler is None:
                raise UnknownServiceError("CreateSession is not enabled on this server.")
            result = self._x509_handler(request, match, params, outcome)
        else:
            assert identity is not None
            method = self._method(match.service, match.operation.name)
            result = method(_caller(identity, region), params)
        return serialize(match.service, match.operation, result, request.request_id)

    def _handle_query(self, request: Request, service: Service, region: str,
                      outcome: Outcome) -> Response:
        if request.method == "POST":
            if request.content_type not in ("", _FORM_TYPE):
                raise UnsupportedMediaTypeError(
                    f"Unsupported Content-Type '{request.content_type}': this API takes "
                    f"{_FORM_TYPE}.")
            form = parse_form(request.body, request.query)
        else:
            form = dict(request.query)
        identity = self._authenticate(request, service.signing_name)
        outcome.account_id = identity.account_id
        outcome.principal = identity.principal_arn
        match = self._query_router(service).match(form)
        outcome.operation = match.operation.name
        if self._limits is not None:
            self._limits.authenticated(service.name, match.operation.name,
                                       identity.access_key_id)
        params = parse_query(match.operation, form)
        validate(match.operation.input_shape, params)
        refuse_unsupported(service.name, match.operation.name, params)
        result = self._method(service, match.operation.name)(_caller(identity, region), params)
        return serialize(service, match.operation, result, request.request_id)


def _caller(identity: Identity, region: str) -> Caller:
    return Caller(Scope(identity.account_id, region), identity.principal_arn, identity.user_id)


def health_body(ok: bool, details: dict[str, Any]) -> bytes:
    return json.dumps({"status": "ok" if ok else "degraded", **details}).encode()
