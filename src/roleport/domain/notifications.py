"""Notification settings of a trust anchor: two defaults, overridden per event/channel."""

from __future__ import annotations

from dataclasses import dataclass

from roleport.domain.model import NotificationSetting
from roleport.errors import ValidationError

CONFIGURED_BY_SERVICE = "rolesanywhere.amazonaws.com"
EVENTS = ("CA_CERTIFICATE_EXPIRY", "END_ENTITY_CERTIFICATE_EXPIRY")
DEFAULT_CHANNEL = "ALL"
DEFAULT_THRESHOLD = 45


@dataclass(frozen=True)
class SettingInput:
    event: str
    enabled: bool
    threshold: int | None = None
    channel: str | None = None


@dataclass(frozen=True)
class SettingKey:
    event: str
    channel: str | None = None


def defaults() -> list[NotificationSetting]:
    return [NotificationSetting(event=e, channel=DEFAULT_CHANNEL, enabled=True,
                                threshold=DEFAULT_THRESHOLD, configured_by=CONFIGURED_BY_SERVICE)
            for e in EVENTS]


def _default_for(event: str, channel: str) -> NotificationSetting:
    return NotificationSetting(event=event, channel=channel, enabled=True,
                               threshold=DEFAULT_THRESHOLD, configured_by=CONFIGURED_BY_SERVICE)


def apply(current: list[NotificationSetting], changes: list[SettingInput],
          account_id: str) -> list[NotificationSetting]:
    """Upsert each change by (event, channel); the result is configured by the account.

    An enabled setting needs a threshold unless one is already stored; a setting
    disabled without a threshold keeps the stored one. One request may name an
    (event, channel) pair once.
    """
    seen: set[tuple[str, str]] = set()
    result = [NotificationSetting(s.event, s.channel, s.enabled, s.threshold, s.configured_by)
              for s in current]
    for change in changes:
        channel = change.channel or DEFAULT_CHANNEL
        key = (change.event, channel)
        if key in seen:
            raise ValidationError(f"Notification setting for event {change.event} and channel "
                                  f"{channel} is given more than once.")
        seen.add(key)
        existing = next((s for s in result if (s.event, s.channel) == key), None)
        threshold = change.threshold
        if threshold is None and existing is not None:
            threshold = existing.threshold
        if threshold is None and change.enabled:
            raise ValidationError(f"Notification setting for event {change.event} is enabled "
                                  f"and needs a threshold (1-360 days).")
        updated = NotificationSetting(change.event, channel, change.enabled, threshold,
                                      account_id)
        if existing is None:
            result.append(updated)
        else:
            result[result.index(existing)] = updated
    return result


def reset(current: list[NotificationSetting],
          keys: list[SettingKey]) -> list[NotificationSetting]:
    """Restore the service default for each (event, channel) key."""
    result = list(current)
    for key in keys:
        channel = key.channel or DEFAULT_CHANNEL
        for i, s in enumerate(result):
            if (s.event, s.channel) == (key.event, channel):
                result[i] = _default_for(key.event, channel)
    return result
