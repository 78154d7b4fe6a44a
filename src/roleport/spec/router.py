"""Find the operation a request is for, from the service models alone.

rest-json services route by HTTP method and ``requestUri`` (``/profile/{profileId}``);
query services (IAM, STS) by the ``Action`` parameter. Nothing here is typed per
operation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

import botocore.model

from roleport.errors import RoleportError, ValidationError
from roleport.spec.models import Service

_LABEL = re.compile(r"\{([^}]+?)(\+?)\}")


class UnknownOperationError(RoleportError):
    code = "UnknownOperationException"
    status = 404


class InvalidActionError(RoleportError):
    code = "InvalidAction"
    status = 400


@dataclass(frozen=True)
class Match:
    service: Service
    operation: botocore.model.OperationModel
    path_params: dict[str, str]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    literal_length: int
    required_query: tuple[tuple[str, str | None], ...]
    service: Service
    operation: botocore.model.OperationModel


def _compile(request_uri: str) -> tuple[re.Pattern[str], int, tuple[tuple[str, str | None], ...]]:
    path, _, query = request_uri.partition("?")
    regex, pos, literal = [], 0, 0
    for m in _LABEL.finditer(path):
        chunk = path[pos:m.start()]
        regex.append(re.escape(chunk))
        literal += len(chunk)
        name, greedy = m.group(1), m.group(2)
        regex.append(f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)")
        pos = m.end()
    tail = path[pos:]
    regex.append(re.escape(tail))
    literal += len(tail)
    required: list[tuple[str, str | None]] = []
    for part in filter(None, query.split("&")):
        key, eq, value = part.partition("=")
        required.append((key, value if eq else None))
    return re.compile("^" + "".join(regex) + "/?$"), literal, tuple(required)


class RestRouter:
    """Routes rest-json requests of one or more services sharing an endpoint."""

    def __init__(self, services: tuple[Service, ...]) -> None:
        routes: list[_Route] = []
        for service in services:
            for name in service.model.operation_names:
                op = service.model.operation_model(name)
                pattern, literal, required = _compile(op.http["requestUri"])
                routes.append(_Route(op.http["method"].upper(), pattern, literal, required,
                                     service, op))
        # Most specific first: more literal characters, then more required query keys.
        routes.sort(key=lambda r: (-r.literal_length, -len(r.required_query)))
        self._routes = routes

    def match(self, method: str, raw_path: str, query: dict[str, list[str]]) -> Match:
        path_matched = False
        for route in self._routes:
            m = route.pattern.match(raw_path)
            if not m:
                continue
            if not all(k in query and (v is None or v in query[k])
                       for k, v in route.required_query):
                continue
            path_matched = True
            if route.method != method:
                continue
            params = {k: unquote(v) for k, v in m.groupdict().items()}
            return Match(route.service, route.operation, params)
        if path_matched:
            raise UnknownOperationError(
                f"The {method} method is not supported for the resource {unquote(raw_path)}.")
        raise UnknownOperationError(f"No operation matches {method} {unquote(raw_path)}.")


class QueryRouter:
    """Routes query-protocol requests (IAM, STS) by their ``Action`` parameter."""

    def __init__(self, service: Service) -> None:
        self._service = service
        self._names = frozenset(service.model.operation_names)

    def match(self, params: dict[str, list[str]]) -> Match:
        action = (params.get("Action") or [None])[0]
        if not action:
            raise ValidationError("Request is missing the Action parameter.",
                                  code="MissingAction", status=400)
        if action not in self._names:
            version = self._service.model.api_version
            raise InvalidActionError(f"Could not find operation {action} for version {version}")
        return Match(self._service, self._service.model.operation_model(action), {})
