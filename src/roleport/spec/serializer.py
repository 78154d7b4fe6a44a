"""Turn an operation's result dict, or an error, into an HTTP response, by the model.

rest-json: status from ``http.responseCode``, members bound to headers go to headers,
the rest to a JSON body; timestamps by ``timestampFormat``; blobs base64; absent
members omitted. query (IAM, STS): an XML document wrapped in ``<OpResponse>`` and
``<OpResult>`` with ``ResponseMetadata``. Errors take their status from the model's
error shape when the model declares the code.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any
import re
from xml.sax.saxutils import escape as _escape

import botocore.model

from roleport.errors import RoleportError
from roleport.spec.models import Service


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def format_timestamp(value: datetime, fmt: str) -> str | float:
    value = value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if fmt == "unixTimestamp":
        return round(value.timestamp(), 3)
    if fmt == "rfc822":
        return format_datetime(value, usegmt=True)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _identity(value: Any) -> Any:
    return value


#: compiled JSON writers by (shape definition, default timestamp format); the models are
#: loaded once per process, so their shape dictionaries live as long as this memo
_WRITERS: dict[tuple[int, str, str | None], Any] = {}


def _writer(shape: botocore.model.Shape, default_ts: str) -> Any:
    """A function turning a value of ``shape`` into JSON-ready data, built once per shape.

    Walking the botocore shape for every value was most of the cost of a large list
    response; the walk now happens once and scalars that need no conversion cost nothing.
    """
    fmt = shape.serialization.get("timestampFormat")
    key = (id(shape._shape_model), default_ts, fmt)  # noqa: SLF001 - stable per model
    writer = _WRITERS.get(key)
    if writer is not None:
        return writer
    t = shape.type_name
    if t == "structure":
        members: list[tuple[str, str, Any]] = []

        def write_structure(value: dict[str, Any]) -> dict[str, Any]:
            out = {}
            for name, wire, fn in members:
                v = value.get(name)
                if v is not None:
                    out[wire] = fn(v)
            return out

        _WRITERS[key] = write_structure  # before recursing: shapes may be recursive
        for name, member in shape.members.items():
            members.append((name, member.serialization.get("name", name),
                            _writer(member, default_ts)))
        return write_structure
    if t == "list":
        item = _writer(shape.member, default_ts)
        writer = (lambda value: list(value)) if item is _identity else \
            (lambda value: [item(v) for v in value])
    elif t == "map":
        item = _writer(shape.value, default_ts)
        writer = (lambda value: dict(value)) if item is _identity else \
            (lambda value: {k: item(v) for k, v in value.items()})
    elif t == "timestamp":
        ts_format = fmt or default_ts
        writer = lambda value: format_timestamp(value, ts_format)  # noqa: E731
    elif t == "blob":
        writer = lambda value: base64.b64encode(value).decode("ascii")  # noqa: E731
    else:
        writer = _identity
    _WRITERS[key] = writer
    return writer


def to_json(shape: botocore.model.Shape, value: Any, default_ts: str = "unixTimestamp") -> Any:
    return _writer(shape, default_ts)(value)


def serialize_rest_json(operation: botocore.model.OperationModel, result: dict[str, Any],
                        request_id: str) -> Response:
    status = operation.http.get("responseCode", 200)
    headers = [("x-amzn-RequestId", request_id), ("Content-Type", "application/json")]
    shape = operation.output_shape
    body: Any = {}
    if shape is not None:
        payload_name = shape.serialization.get("payload")
        for name, member in shape.members.items():
            value = result.get(name)
            if value is None:
                continue
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "header":
                if member.type_name == "timestamp":
                    value = format_timestamp(value, member.serialization.get("timestampFormat",
                                                                             "rfc822"))
                headers.append((wire, str(value)))
            elif location == "statusCode":
                status = int(value)
            elif name == payload_name:
                body = to_json(member, value, "unixTimestamp")
            else:
                body[wire] = to_json(member, value, "unixTimestamp")
    return Response(status, headers, json.dumps(body, separators=(",", ":")).encode())


def _error_status(service: Service | None, error: RoleportError) -> int:
    if service is not None:
        try:
            shape = service.model.shape_for_error_code(error.code)
        except Exception:  # botocore raises various lookups errors for unknown codes
            shape = None
        if shape is not None:
            return int(shape.metadata.get("error", {}).get("httpStatusCode", error.status))
    return error.status


def retry_after_headers(error: RoleportError) -> list[tuple[str, str]]:
    """``Retry-After`` (seconds: RFC 9110, read by most HTTP clients and several SDKs) and
    ``x-amz-retry-after`` (milliseconds: what botocore's standard retry mode reads)."""
    seconds = error.fields.get("retryAfterSeconds")
    if seconds is None:
        return []
    return [("Retry-After", str(seconds)), ("x-amz-retry-after", str(int(seconds) * 1000))]


def serialize_error(service: Service | None, error: RoleportError, request_id: str) -> Response:
    status = _error_status(service, error)
    if service is not None and service.protocol == "query":
        return _query_error(service, error, status, request_id)
    body = {"message": error.message}
    body.update({k: v for k, v in error.fields.items() if v is not None})
    headers = [("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", error.code),
               ("Content-Type", "application/json")]
    headers += retry_after_headers(error)
    return Response(status, headers, json.dumps(body, separators=(",", ":")).encode())


# -- query protocol (XML) ------------------------------------------------------------

#: characters XML 1.0 cannot carry at all, not even as a character reference
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def escape(text: str) -> str:
    """XML text: markup escaped, and what XML cannot carry (control characters echoed
    from a request, lone surrogates) replaced by U+FFFD, so that every client's parser
    reads the document."""
    return _escape(_NOT_XML.sub("\ufffd", text))



def _xml(shape: botocore.model.Shape, value: Any, name: str, parts: list[str]) -> None:
    t = shape.type_name
    if t == "structure":
        parts.append(f"<{name}>")
        for member_name, member in shape.members.items():
            v = value.get(member_name)
            if v is not None:
                _xml(member, v, member.serialization.get("name", member_name), parts)
        parts.append(f"</{name}>")
    elif t == "list":
        item_name = shape.member.serialization.get("name", "member")
        if shape.serialization.get("flattened"):
            for item in value:
                _xml(shape.member, item, name, parts)
        else:
            parts.append(f"<{name}>")
            for item in value:
                _xml(shape.member, item, item_name, parts)
            parts.append(f"</{name}>")
    elif t == "map":
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        parts.append(f"<{name}>")
        for k, v in value.items():
            parts.append("<entry>")
            _xml(shape.key, k, key_name, parts)
            _xml(shape.value, v, value_name, parts)
            parts.append("</entry>")
        parts.append(f"</{name}>")
    else:
        if t == "timestamp":
            text = str(format_timestamp(value, shape.serialization.get("timestampFormat",
                                                                       "iso8601")))
        elif t == "boolean":
            text = "true" if value else "false"
        elif t == "blob":
            text = base64.b64encode(value).decode("ascii")
        else:
            text = str(value)
        parts.append(f"<{name}>{escape(text)}</{name}>")


def serialize_query(service: Service, operation: botocore.model.OperationModel,
                    result: dict[str, Any], request_id: str) -> Response:
    ns = service.model.metadata.get("xmlNamespace", "")
    name = operation.name
    parts = [f'<{name}Response xmlns="{ns}">']
    shape = operation.output_shape
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper", f"{name}Result")
        _xml(shape, result, wrapper, parts)
    parts.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>")
    parts.append(f"</{name}Response>")
    headers = [("x-amzn-RequestId", request_id), ("Content-Type", "text/xml")]
    return Response(200, headers, "".join(parts).encode())


def _query_error(service: Service, error: RoleportError, status: int,
                 request_id: str) -> Response:
    ns = service.model.metadata.get("xmlNamespace", "")
    kind = "Sender" if error.sender_fault else "Receiver"
    # query services (IAM, STS) name input validation failures ValidationError, and have
    # no SerializationException (an integer out of range is ValidationError there too)
    code = "ValidationError" if error.code in ("ValidationException",
                                               "SerializationException") else error.code
    body = (f'<ErrorResponse xmlns="{ns}"><Error><Type>{kind}</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(error.message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    headers = [("x-amzn-RequestId", request_id), ("Content-Type", "text/xml")]
    headers += retry_after_headers(error)
    return Response(status, headers, body.encode())


def serialize(service: Service, operation: botocore.model.OperationModel,
              result: dict[str, Any], request_id: str) -> Response:
    if service.protocol == "query":
        return serialize_query(service, operation, result, request_id)
    return serialize_rest_json(operation, result, request_id)
