"""Turn an HTTP request into the operation's input parameters, by the input shape.

The result is a plain dict keyed by member name (the same dict a botocore client is
given), with values converted to Python types: blobs to ``bytes``, timestamps to aware
``datetime``, integers to ``int``. A value that cannot be converted is left as it came;
the validator reports it as a type error, together with every other constraint.

What cannot be a request at all is a :class:`SerializationError` (400
``SerializationException``): a body that is not JSON or breaks the decoding limits of
:mod:`roleport.spec.jsondoc`, a body that is not a JSON object, an integer outside the range
of its shape (32 bits for ``integer``, 64 for ``long``, as Smithy's restJson1 protocol tests
require). Query-protocol forms are bounded too (:data:`MAX_FORM_FIELDS`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs

import botocore.model

from roleport.errors import ValidationError
from roleport.spec.jsondoc import SerializationError, load_json_document

__all__ = ["MAX_FORM_FIELDS", "SerializationError", "from_json", "is_unconverted",
           "parse_form", "parse_query", "parse_rest_json", "unconverted_value"]

#: bits of each integer type (Smithy: ``integer`` is 32-bit, ``long`` 64-bit, signed)
_INTEGER_BITS = {"integer": 32, "long": 64}
_DECIMAL_TEXT = re.compile(r"[+-]?[0-9]{1,100}")
#: form fields (query protocol) of one request; the largest input of the served models
#: has a few hundred leaves (a test checks)
MAX_FORM_FIELDS = 2_000
#: digits of a list or map index in a form field name (``Tags.member.12.Key``)
_MAX_INDEX_DIGITS = 6


def _integer(shape: botocore.model.Shape, value: int) -> int:
    bits = _INTEGER_BITS.get(shape.type_name, 64)
    if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
        shown = str(value) if len(str(value)) <= 40 else f"{str(value)[:40]}..."
        raise SerializationError(f"The value {shown} is out of range for a {bits}-bit "
                                 f"integer ({shape.name}).")
    return value


class _Raw:
    """A value that could not be converted to its shape's type; kept for the message."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return repr(self.value)


def is_unconverted(value: object) -> bool:
    return isinstance(value, _Raw)


def unconverted_value(value: object) -> object:
    return value.value if isinstance(value, _Raw) else value


def _parse_timestamp(value: object) -> datetime | _Raw:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):  # beyond the years datetime knows
            return _Raw(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if text.replace(".", "", 1).isdigit():
                return datetime.fromtimestamp(float(text), tz=timezone.utc)
            if text.endswith("Z"):
                text = text[:-1] + "+00:00"
            parsed = datetime.fromisoformat(text)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        except (OverflowError, OSError):
            return _Raw(value)
        except ValueError:
            try:
                return parsedate_to_datetime(value)
            except (TypeError, ValueError):
                pass
    return _Raw(value)


def _scalar_from_text(shape: botocore.model.Shape, text: str) -> Any:
    """Convert a string from a path, query string or header to the shape's type."""
    t = shape.type_name
    if t in ("integer", "long"):
        if not _DECIMAL_TEXT.fullmatch(text):
            return _Raw(text)
        return _integer(shape, int(text))
    if t in ("float", "double"):
        try:
            return float(text)
        except ValueError:
            return _Raw(text)
    if t == "boolean":
        low = text.lower()
        return True if low == "true" else False if low == "false" else _Raw(text)
    if t == "timestamp":
        return _parse_timestamp(text)
    if t == "blob":
        return _decode_base64(text)
    return text


def _decode_base64(text: str) -> bytes | _Raw:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return _Raw(text)


def from_json(shape: botocore.model.Shape, value: Any) -> Any:
    """Convert a decoded JSON value to the shape's Python type (recursively)."""
    if value is None:
        return None
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            return _Raw(value)
        members = shape.members
        return {name: from_json(members[name], v) for name, v in value.items()
                if name in members}
    if t == "list":
        if not isinstance(value, list):
            return _Raw(value)
        return [from_json(shape.member, v) for v in value]
    if t == "map":
        if not isinstance(value, dict):
            return _Raw(value)
        return {k: from_json(shape.value, v) for k, v in value.items()}
    if t == "blob":
        return _decode_base64(value) if isinstance(value, str) else _Raw(value)
    if t == "timestamp":
        return _parse_timestamp(value)
    if t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return _integer(shape, int(value))
            return _Raw(value)
        return _integer(shape, value)
    if t in ("float", "double"):
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) \
            else _Raw(value)
    if t == "boolean":
        return value if isinstance(value, bool) else _Raw(value)
    if t == "string":
        return value if isinstance(value, str) else _Raw(value)
    return value


def parse_rest_json(operation: botocore.model.OperationModel, path_params: Mapping[str, str],
                    query: Mapping[str, list[str]], headers: Mapping[str, str],
                    body: bytes) -> dict[str, Any]:
    """Parse a rest-json request into input parameters."""
    shape = operation.input_shape
    params: dict[str, Any] = {}
    if shape is None:
        return params
    body_members: dict[str, botocore.model.Shape] = {}
    payload_name = shape.serialization.get("payload")
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            if wire in path_params:
                params[name] = _scalar_from_text(member, path_params[wire])
        elif location == "querystring":
            if member.type_name == "list":
                if wire in query:
                    params[name] = [_scalar_from_text(member.member, v) for v in query[wire]]
            elif member.type_name == "map":
                claimed = {m.serialization.get("name", n) for n, m in shape.members.items()
                           if m.serialization.get("location") == "querystring"}
                rest = {k: v[0] for k, v in query.items() if k not in claimed}
                if rest:
                    params[name] = rest
            elif wire in query:
                params[name] = _scalar_from_text(member, query[wire][0])
        elif location == "header":
            value = headers.get(wire.lower())
            if value is not None:
                if member.type_name == "timestamp":
                    params[name] = _parse_timestamp(value)
                elif member.type_name == "list":
                    params[name] = [v.strip() for v in value.split(",")]
                else:
                    params[name] = _scalar_from_text(member, value)
        elif location == "headers":
            prefix = wire.lower()
            found = {k[len(prefix):]: v for k, v in headers.items() if k.startswith(prefix)}
            if found:
                params[name] = found
        elif location == "statusCode":
            continue
        elif name == payload_name:
            if member.type_name in ("blob", "string"):
                if body:
                    params[name] = body if member.type_name == "blob" else body.decode()
            else:
                doc = load_json_document(body)
                if doc is not None:
                    params[name] = from_json(member, doc)
        else:
            body_members[name] = member
    if body_members and not payload_name and body.strip():
        doc = load_json_document(body)
        if not isinstance(doc, dict):
            raise SerializationError("The request body must be a JSON object.")
        for name, member in body_members.items():
            wire = member.serialization.get("name", name)
            if wire in doc:
                params[name] = from_json(member, doc[wire])
    return params


def parse_form(body: bytes, query: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """The fields of a query-protocol request: the form body, then the query string's.

    Raises ValidationError for a body that is not UTF-8 or has more than
    :data:`MAX_FORM_FIELDS` fields.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError("The request body is not valid UTF-8.", detail=str(exc)) from None
    if text.count("&") >= MAX_FORM_FIELDS or len(query) > MAX_FORM_FIELDS:
        raise ValidationError(f"The request has more than {MAX_FORM_FIELDS} form fields.")
    form = parse_qs(text, keep_blank_values=True)
    for key, values in query.items():
        form.setdefault(key, values)
    return form


def parse_query(operation: botocore.model.OperationModel,
                form: Mapping[str, list[str]]) -> dict[str, Any]:
    """Parse a query-protocol request (form fields such as ``Tags.member.1.Key``)."""
    shape = operation.input_shape
    if shape is None:
        return {}
    flat = {k: v[-1] for k, v in form.items()}
    return _query_structure(shape, flat, "") or {}


def _query_value(shape: botocore.model.Shape, flat: dict[str, str], prefix: str) -> Any:
    t = shape.type_name
    if t == "structure":
        return _query_structure(shape, flat, prefix + ".")
    if t == "list":
        return _query_list(shape, flat, prefix)
    if t == "map":
        return _query_map(shape, flat, prefix)
    if prefix in flat:
        return _scalar_from_text(shape, flat[prefix])
    return None


def _query_structure(shape: botocore.model.Shape, flat: dict[str, str],
                     prefix: str) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        wire = member.serialization.get("name", name)
        value = _query_value(member, flat, prefix + wire)
        if value is not None:
            out[name] = value
    if not out and prefix and not any(k.startswith(prefix) for k in flat):
        return None
    return out


def _indexed(flat: dict[str, str], prefix: str) -> list[int]:
    indices: set[int] = set()
    for key in flat:
        if key.startswith(prefix):
            head = key[len(prefix):].split(".", 1)[0]
            if not (head.isascii() and head.isdigit()):  # "²" is a digit to str.isdigit
                continue
            if len(head) > _MAX_INDEX_DIGITS:
                shown = key if len(key) <= 60 else f"{key[:60]}..."
                raise ValidationError(f"The form field '{shown}' has a list index of "
                                      f"{len(head)} digits; at most {_MAX_INDEX_DIGITS} are "
                                      f"allowed.")
            indices.add(int(head))
    return sorted(indices)


def _query_list(shape: botocore.model.Shape, flat: dict[str, str], prefix: str) -> Any:
    if shape.serialization.get("flattened"):
        base = prefix + "."
    else:
        member_name = shape.member.serialization.get("name", "member")
        base = f"{prefix}.{member_name}."
    if prefix in flat and flat[prefix] == "":
        return []
    indices = _indexed(flat, base)
    if not indices:
        return None
    return [_query_value(shape.member, flat, f"{base}{i}") for i in indices]


def _query_map(shape: botocore.model.Shape, flat: dict[str, str], prefix: str) -> Any:
    base = prefix + "." if shape.serialization.get("flattened") else prefix + ".entry."
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    indices = _indexed(flat, base)
    if not indices:
        return None
    out = {}
    for i in indices:
        key = flat.get(f"{base}{i}.{key_name}")
        if key is not None:
            out[key] = _query_value(shape.value, flat, f"{base}{i}.{value_name}")
    return out
