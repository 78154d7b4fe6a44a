"""Build example values for any botocore shape, for round-trip tests."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import botocore.model


def example(shape: botocore.model.Shape, depth: int = 0, *, name: str = "") -> Any:
    t = shape.type_name
    if t == "structure":
        if depth > 4:
            return {}
        members = shape.members
        if shape.metadata.get("union"):
            first = next(iter(members))
            return {first: example(members[first], depth + 1, name=first)}
        return {n: example(m, depth + 1, name=n) for n, m in members.items()
                if m.serialization.get("location") not in ("statusCode", "headers")}
    if t == "list":
        return [example(shape.member, depth + 1, name=name) for _ in range(2)]
    if t == "map":
        return {"k1": example(shape.value, depth + 1), "k/2 x": example(shape.value, depth + 1)}
    if t == "string":
        if shape.enum:
            return shape.enum[-1]
        return f"v:{name or 's'}/é ü+&=?"
    if t in ("integer", "long"):
        return int(shape.metadata.get("min", 0)) + 7
    if t in ("float", "double"):
        return 1.5
    if t == "boolean":
        return True
    if t == "blob":
        return b"\x00\x01roleport\xff"
    if t == "timestamp":
        return datetime(2026, 11, 23, 12, 30, 45, 123000, tzinfo=timezone.utc)
    raise AssertionError(f"no example for {t}")
