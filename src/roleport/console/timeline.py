"""The certificate-expiry timeline: every trust anchor's CA certificates and every leaf
seen recently on one time axis, each coloured by the notification threshold that applies
to it (pure: certificates and settings in, an SVG geometry out; templates draw it).

A certificate's state, as the notification evaluation sees it (domain/notifications,
aws-behaviour §6.4): ``expired`` past its notAfter; ``due`` when its notification
setting is enabled and the days to expiry are at most the threshold (an event would be
sent); ``ok`` when enabled and further away; ``silent`` when the setting is disabled
(nothing is sent, whatever the date). CA certificates follow the anchor's
``CA_CERTIFICATE_EXPIRY`` setting, leaves the ``END_ENTITY_CERTIFICATE_EXPIRY`` setting
of the anchor whose certificate issued them (the service default when none matches).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from roleport.domain import notifications
from roleport.domain.model import NotificationSetting

CA_EVENT = "CA_CERTIFICATE_EXPIRY"
LEAF_EVENT = "END_ENTITY_CERTIFICATE_EXPIRY"
STATES = ("expired", "due", "ok", "silent")
STATE_LABELS = {"expired": "expired", "due": "within the notification threshold",
                "ok": "beyond the notification threshold", "silent": "notifications disabled"}

#: the horizons the page offers, in days after now (None: up to the last expiry)
HORIZONS = {"90": 90, "365": 365, "1825": 1825, "all": None}
DEFAULT_HORIZON = "365"

# the drawing, in SVG user units
WIDTH = 1000
LABEL_WIDTH = 300
ROW_HEIGHT = 26
BAR_HEIGHT = 16
TOP = 34
BOTTOM = 14
PAST_DAYS = 30


@dataclass(frozen=True)
class Threshold:
    """The notification setting that applies to one certificate."""

    enabled: bool
    days: int | None

    @classmethod
    def of(cls, settings: list[NotificationSetting], event: str) -> Threshold:
        """The setting of ``event`` on the ``ALL`` channel, else the service default."""
        for s in settings:
            if s.event == event and s.channel == notifications.DEFAULT_CHANNEL:
                return cls(s.enabled, s.threshold)
        return cls(True, notifications.DEFAULT_THRESHOLD)


@dataclass(frozen=True)
class Entry:
    """One certificate to draw."""

    kind: str  #: "ca" or "leaf"
    label: str
    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    threshold: Threshold
    #: the trust anchor it belongs to (or was matched to), for the legend and the table
    anchor: str = ""


def state_of(entry: Entry, now: datetime) -> str:
    if entry.not_after <= now:
        return "expired"
    if not entry.threshold.enabled:
        return "silent"
    days = days_to_expiry(entry, now)
    if entry.threshold.days is not None and days <= entry.threshold.days:
        return "due"
    return "ok"


def days_to_expiry(entry: Entry, now: datetime) -> int:
    """Whole days until notAfter (rounded down; negative once expired)."""
    return math.floor((entry.not_after - now).total_seconds() / 86400)


@dataclass(frozen=True)
class Bar:
    entry: Entry
    state: str
    days: int
    y: float
    x: float
    width: float
    #: where the threshold starts on the bar (None when off the axis or disabled)
    threshold_x: float | None
    #: the bar runs on past the right edge
    clipped: bool


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    label_width: int
    start: datetime
    end: datetime
    now_x: float
    bars: list[Bar]
    ticks: list[Tick]

    @property
    def plot_right(self) -> int:
        return self.width - 10


def _month_ticks(start: datetime, end: datetime, x_of, max_ticks: int = 10) -> list[Tick]:  # noqa: ANN001
    """Month ticks (every few months) on a short axis, January ticks on a long one."""
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    step = max(1, math.ceil(months / max_ticks))
    yearly = step > 6
    if yearly:
        step = 12 * math.ceil(months / (12 * max_ticks))
    year, month = start.year, start.month
    ticks = []
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        moment = start.replace(year=year, month=month, day=1, hour=0, minute=0, second=0,
                               microsecond=0)
        if moment > end:
            return ticks
        if yearly:
            if month == 1 and (year - start.year - 1) % (step // 12) == 0:
                ticks.append(Tick(round(x_of(moment), 1), str(year)))
        elif ((year - start.year) * 12 + month - start.month) % step == 0:
            ticks.append(Tick(round(x_of(moment), 1), moment.strftime("%b %Y")))


def build(entries: list[Entry], now: datetime, horizon: str = DEFAULT_HORIZON) -> Chart:
    """Lay the certificates out on one axis: from a month ago to the horizon (or to the
    last expiry), soonest expiry first."""
    days = HORIZONS.get(horizon, HORIZONS[DEFAULT_HORIZON])
    start = now - timedelta(days=PAST_DAYS)
    if days is None:
        last = max((e.not_after for e in entries), default=now + timedelta(days=365))
        end = max(last, now + timedelta(days=30)) + timedelta(days=15)
    else:
        end = now + timedelta(days=days)
    span = (end - start).total_seconds()
    right = WIDTH - 10
    plot = right - LABEL_WIDTH

    def x_of(moment: datetime) -> float:
        fraction = (moment - start).total_seconds() / span
        return LABEL_WIDTH + max(0.0, min(1.0, fraction)) * plot

    bars = []
    ordered = sorted(entries, key=lambda e: (e.not_after, e.kind, e.label))
    for row, entry in enumerate(ordered):
        x0, x1 = x_of(entry.not_before), x_of(entry.not_after)
        threshold_x = None
        if entry.threshold.enabled and entry.threshold.days is not None:
            begins = entry.not_after - timedelta(days=entry.threshold.days)
            if max(start, entry.not_before) < begins < end:
                threshold_x = round(x_of(begins), 1)
        bars.append(Bar(entry, state_of(entry, now), days_to_expiry(entry, now),
                        y=TOP + row * ROW_HEIGHT, x=round(x0, 1),
                        width=round(max(2.0, x1 - x0), 1), threshold_x=threshold_x,
                        clipped=entry.not_after > end))
    height = TOP + max(1, len(bars)) * ROW_HEIGHT + BOTTOM
    return Chart(WIDTH, height, LABEL_WIDTH, start, end, round(x_of(now), 1), bars,
                 _month_ticks(start, end, x_of))
