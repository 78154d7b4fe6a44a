"""Check input parameters against every constraint of the input shape.

required, min, max (length of strings, lists, maps and blobs; value of numbers), pattern
(full match, Java-style classes such as ``\\p{L}`` included), enum, type and union. All
errors are collected and reported together, in AWS's wording::

    2 validation errors detected: Value null at 'name' failed to satisfy constraint:
    Member must not be null; Value '44000' at 'durationSeconds' failed to satisfy
    constraint: Member must have value less than or equal to 43200
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

import botocore.model
import regex

from roleport.errors import ValidationError
from roleport.spec.parser import is_unconverted, unconverted_value

_MAX_SHOWN = 200

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
    "blob": (bytes, bytearray),
    "timestamp": (datetime,),
    "list": (list, tuple),
    "map": (dict,),
    "structure": (dict,),
}


@lru_cache(maxsize=1024)
def _pattern(text: str) -> regex.Pattern[str]:
    return regex.compile(text, regex.V0)


def _show(value: Any) -> str:
    value = unconverted_value(value)
    if isinstance(value, (list, tuple)):
        text = "[" + ", ".join(str(unconverted_value(v)) for v in value) + "]"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (bytes, bytearray)):
        text = f"<{len(value)} bytes>"
    else:
        text = str(value)
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN] + "..."
    return text


class _Collector:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, path: str, value: Any, constraint: str, sensitive: bool = False) -> None:
        if value is None:
            shown = "Value null"
        elif sensitive:
            shown = "Value"
        else:
            shown = f"Value '{_show(value)}'"
        self.errors.append(f"{shown} at '{path}' failed to satisfy constraint: {constraint}")


def validation_messages(shape: botocore.model.Shape | None, params: dict[str, Any]) -> list[str]:
    """Every constraint violation of ``params`` against ``shape``, as AWS words them."""
    if shape is None:
        return []
    out = _Collector()
    _structure(shape, params, "", out, top=True)
    return out.errors


def validate(shape: botocore.model.Shape | None, params: dict[str, Any]) -> None:
    """Raise one ValidationError listing every violation, or return quietly."""
    errors = validation_messages(shape, params)
    if errors:
        n = len(errors)
        noun = "error" if n == 1 else "errors"
        raise ValidationError(f"{n} validation {noun} detected: " + "; ".join(errors))


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _structure(shape: botocore.model.Shape, value: dict[str, Any], path: str,
               out: _Collector, top: bool = False) -> None:
    members = shape.members
    for name in shape.required_members:
        if value.get(name) is None:
            out.fail(_join(path, name), None, "Member must not be null")
    if shape.metadata.get("union"):
        present = [n for n, v in value.items() if v is not None]
        if len(present) != 1:
            out.fail(path or shape.name, None if not present else "{" + ", ".join(present) + "}",
                     "Member must have exactly one member set")
    for name, member_value in value.items():
        member = members.get(name)
        if member is None or member_value is None:
            continue
        _value(member, member_value, _join(path, name), out)


def _value(shape: botocore.model.Shape, value: Any, path: str, out: _Collector) -> None:
    t = shape.type_name
    sensitive = bool(shape.metadata.get("sensitive"))
    if is_unconverted(value) or not isinstance(value, _PY_TYPES.get(t, (object,))) or (
            t in ("integer", "long", "float", "double") and isinstance(value, bool)):
        out.fail(path, value, f"Member must be of type {t}", sensitive)
        return
    meta = shape.metadata
    if t == "structure":
        _structure(shape, value, path, out)
        return
    if t in ("string", "list", "map", "blob"):
        size = len(value)
        if "min" in meta and size < meta["min"]:
            out.fail(path, value, f"Member must have length greater than or equal to {meta['min']}",
                     sensitive)
        if "max" in meta and size > meta["max"]:
            out.fail(path, value, f"Member must have length less than or equal to {meta['max']}",
                     sensitive)
    elif t in ("integer", "long", "float", "double"):
        if "min" in meta and value < meta["min"]:
            out.fail(path, value, f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            out.fail(path, value, f"Member must have value less than or equal to {meta['max']}")
    if t == "string":
        if shape.enum and value not in shape.enum:
            out.fail(path, value, "Member must satisfy enum value set: ["
                     + ", ".join(shape.enum) + "]", sensitive)
        pattern = meta.get("pattern")
        if pattern and _pattern(pattern).fullmatch(value) is None:
            out.fail(path, value, f"Member must satisfy regular expression pattern: {pattern}",
                     sensitive)
    elif t == "list":
        for i, item in enumerate(value, start=1):
            if item is None:
                out.fail(f"{path}.{i}.member", None, "Member must not be null")
            else:
                _value(shape.member, item, f"{path}.{i}.member", out)
    elif t == "map":
        for k, v in value.items():
            _value(shape.key, k, f"{path}.key", out)
            if v is None:
                out.fail(f"{path}.{k}", None, "Member must not be null")
            else:
                _value(shape.value, v, f"{path}.{k}", out)
