"""Building a request that sets every input member of an operation, from its shape, and
finding what came back: the machinery of test_model_coverage.

``full_params`` gives every member (nested ones too) a value that satisfies the shape's
min/max/pattern/enum (checked with Roleport's own validator, so a value the generator
cannot make fails loudly instead of being sent); ``overrides`` supply the values that must
mean something to the server (ARNs of resources that exist, a CRL, a policy document).
``echoed`` says whether the value sent for a member is in a response under that name.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import botocore.model
import regex

from roleport.spec.validator import validation_messages

Override = Callable[[str, str], Any]  # (operation, member path) -> value
_CANDIDATES = ("roleport-value", "roleport", "rp", "v")


def _string(shape: botocore.model.StringShape) -> str:
    if shape.enum:
        return shape.enum[0]
    meta = shape.metadata
    low, high = meta.get("min", 0), meta.get("max", 1 << 20)
    pattern = meta.get("pattern")
    compiled = regex.compile(pattern, regex.V0) if pattern else None
    candidates = [*_CANDIDATES, "a" * max(low, 1)]
    for text in candidates:
        if low <= len(text) <= high and (compiled is None or compiled.fullmatch(text)):
            return text
    from hypothesis import strategies as st
    from hypothesis.errors import NonInteractiveExampleWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        strategy = st.from_regex(pattern, fullmatch=True).filter(
            lambda s: low <= len(s) <= high)
        return strategy.example()


def value_for(shape: botocore.model.Shape, path: str, override: Override, operation: str,
              depth: int = 0) -> Any:
    """A valid value for ``shape`` at member ``path`` (``override`` first)."""
    chosen = override(operation, path)
    if chosen is not None:
        return chosen
    t = shape.type_name
    meta = shape.metadata
    if t == "structure":
        members = shape.members
        if meta.get("union"):
            name = next(iter(members))
            return {name: value_for(members[name], f"{path}.{name}", override, operation,
                                    depth + 1)}
        return {name: value_for(member, f"{path}.{name}".lstrip("."), override, operation,
                                depth + 1)
                for name, member in members.items() if depth < 6}
    if t == "list":
        count = max(1, meta.get("min", 0))
        return [value_for(shape.member, path, override, operation, depth + 1)
                for _ in range(count)]
    if t == "map":
        return {"k": value_for(shape.value, path, override, operation, depth + 1)}
    if t == "string":
        return _string(shape)
    if t in ("integer", "long"):
        low, high = meta.get("min", 0), meta.get("max", 1 << 31)
        return min(low + 7, high)
    if t in ("float", "double"):
        return 1.5
    if t == "boolean":
        return True
    if t == "blob":
        return b"roleport"
    if t == "timestamp":
        return datetime.now(UTC).replace(microsecond=0)
    raise AssertionError(f"no value for a {t} at {path}")


def full_params(operation: botocore.model.OperationModel, override: Override) -> dict[str, Any]:
    shape = operation.input_shape
    if shape is None:
        return {}
    params = {name: value_for(member, name, override, operation.name)
              for name, member in shape.members.items()}
    problems = validation_messages(shape, params)
    assert not problems, f"{operation.name}: the generated request is not valid: {problems}"
    return params


def values_named(data: Any, name: str) -> Iterator[Any]:
    """Every value under key ``name`` anywhere in a response."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key == name:
                yield value
            yield from values_named(value, name)
    elif isinstance(data, list):
        for item in data:
            yield from values_named(item, name)


def matches(sent: Any, got: Any) -> bool:
    """``got`` carries ``sent`` (a structure: every member sent; a list: every item sent;
    a policy document: the same JSON; a blob: the same bytes)."""
    if isinstance(sent, dict):
        return isinstance(got, dict) and all(
            v is None or (k in got and matches(v, got[k])) for k, v in sent.items())
    if isinstance(sent, list):
        return isinstance(got, list) and all(any(matches(s, g) for g in got) for s in sent)
    if isinstance(sent, str) and isinstance(got, dict):  # IAM policies come back parsed
        try:
            return json.loads(sent) == got
        except ValueError:
            return False
    if isinstance(sent, (bytes, bytearray)) and isinstance(got, (bytes, bytearray)):
        return bytes(sent).strip() == bytes(got).strip()
    return sent == got


def echoed(data: Any, name: str, sent: Any) -> bool:
    return any(matches(sent, got) for got in values_named(data, name))


def shape_has_member(shape: botocore.model.Shape | None, name: str,
                     seen: set[str] | None = None) -> bool:
    """Whether ``name`` is a member anywhere inside ``shape``."""
    if shape is None:
        return False
    seen = set() if seen is None else seen
    if shape.name in seen:
        return False
    seen.add(shape.name)
    if shape.type_name == "structure":
        return any(n == name or shape_has_member(m, name, seen)
                   for n, m in shape.members.items())
    if shape.type_name == "list":
        return shape_has_member(shape.member, name, seen)
    if shape.type_name == "map":
        return shape_has_member(shape.value, name, seen)
    return False
