"""Entity <-> row conversion, described once per entity rather than coded per column."""

from __future__ import annotations

import dataclasses
import functools
from datetime import datetime, timezone
from typing import Any

from roleport.domain import model
from roleport.domain.subjects import subject_key

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_micros(value: datetime) -> int:
    delta = value.astimezone(timezone.utc) - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value // 1_000_000, tz=timezone.utc).replace(
        microsecond=value % 1_000_000)


class Codec:
    """Maps one entity class to its table's columns.

    ``times``: datetime fields stored as micros; ``nested``: fields holding lists of
    small dataclasses stored as JSON (each item with its own ``times``); ``embedded``:
    fields holding one small dataclass or None, stored as a JSON object or NULL.
    """

    def __init__(self, entity: type, times: tuple[str, ...] = ("created_at", "updated_at"),
                 nested: dict[str, type] | None = None, derived: dict[str, Any] | None = None,
                 embedded: dict[str, type] | None = None) -> None:
        self.entity = entity
        self.fields = [f.name for f in dataclasses.fields(entity)]
        self.times = set(times)
        self.nested = nested or {}
        self.derived = derived or {}
        self.embedded = embedded or {}

    def to_row(self, obj: Any) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for name in self.fields:
            value = getattr(obj, name)
            if name == "seq" and value is None:
                continue
            if name in self.times:
                value = to_micros(value)
            elif name in self.nested:
                value = [_item_to_json(v) for v in value]
            elif name in self.embedded and value is not None:
                value = _item_to_json(value)
            row[name] = value
        for column, fn in self.derived.items():
            row[column] = fn(obj)
        return row

    def from_row(self, row: Any) -> Any:
        mapping = row._mapping
        kwargs: dict[str, Any] = {}
        for name in self.fields:
            value = mapping[name]
            if name in self.times:
                value = from_micros(value)
            elif name in self.nested:
                value = [_item_from_json(self.nested[name], v) for v in value]
            elif name in self.embedded and value is not None:
                value = _item_from_json(self.embedded[name], value)
            elif name == "crl_data" and value is not None:
                value = bytes(value)
            kwargs[name] = value
        return self.entity(**kwargs)


def _item_to_json(item: Any) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(item):
        value = getattr(item, f.name)
        out[f.name] = to_micros(value) if isinstance(value, datetime) else value
    return out


@functools.lru_cache(maxsize=None)
def _field_plan(cls: type) -> tuple[tuple[str, bool], ...]:
    """(field name, is a time) for a nested item class, computed once per class."""
    return tuple((f.name, f.name.endswith("_at")) for f in dataclasses.fields(cls))


def _item_from_json(cls: type, data: dict[str, Any]) -> Any:
    kwargs = {}
    for name, is_time in _field_plan(cls):
        if name in data:
            value = data[name]
            kwargs[name] = from_micros(value) if is_time and isinstance(value, int) else value
    return cls(**kwargs)


TRUST_ANCHORS = Codec(model.TrustAnchor, nested={
    "notification_settings": model.NotificationSetting, "tags": model.Tag})
PROFILES = Codec(model.Profile, nested={
    "attribute_mappings": model.AttributeMapping, "tags": model.Tag},
    embedded={"tip_configuration": model.TipConfiguration})
CRLS = Codec(model.Crl, nested={"tags": model.Tag})
SUBJECTS = Codec(model.Subject, times=("created_at", "updated_at", "last_seen_at"), nested={
    "credentials": model.CredentialRecord,
    "instance_properties": model.InstancePropertyRecord,
    "tags": model.Tag,
}, derived={"subject_key": lambda s: subject_key(s.x509_subject)})
ACCESS_KEYS = Codec(model.AccessKey, times=("created_at",))
