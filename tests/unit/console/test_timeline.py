"""The certificate-expiry timeline's layout and colours (roleport.console.timeline)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from roleport.console import timeline
from roleport.console.timeline import Entry, Threshold, build, state_of
from roleport.domain import notifications
from roleport.domain.model import NotificationSetting

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)


DEFAULT = Threshold(True, 45)


def _entry(days_left: float, threshold: Threshold = DEFAULT, *,
           label: str = "c", kind: str = "leaf", lived: int = 365) -> Entry:
    not_after = NOW + timedelta(days=days_left)
    return Entry(kind, label, f"CN={label}", "CN=issuer", "01",
                 not_after - timedelta(days=lived), not_after, threshold)


def test_states_follow_the_threshold() -> None:
    assert state_of(_entry(-1), NOW) == "expired"
    assert state_of(_entry(10), NOW) == "due"
    assert state_of(_entry(45.5), NOW) == "due"  # 45 whole days left: an event is due
    assert state_of(_entry(46), NOW) == "ok"
    assert state_of(_entry(10, Threshold(False, 45)), NOW) == "silent"
    assert state_of(_entry(-1, Threshold(False, 45)), NOW) == "expired"


def test_the_threshold_comes_from_the_all_channel_setting_or_the_default() -> None:
    settings = [NotificationSetting(timeline.CA_EVENT, "ALL", True, 90, "me"),
                NotificationSetting(timeline.LEAF_EVENT, "ALL", False, 10, "me")]
    assert Threshold.of(settings, timeline.CA_EVENT) == Threshold(True, 90)
    assert Threshold.of(settings, timeline.LEAF_EVENT) == Threshold(False, 10)
    assert Threshold.of(notifications.defaults(), timeline.LEAF_EVENT) == Threshold(
        True, notifications.DEFAULT_THRESHOLD)
    assert Threshold.of([], timeline.CA_EVENT) == Threshold(True, 45)


def test_bars_are_ordered_by_expiry_on_one_axis() -> None:
    chart = build([_entry(300, label="late"), _entry(5, label="soon"),
                   _entry(-3, label="gone")], NOW, "365")
    assert [b.entry.label for b in chart.bars] == ["gone", "soon", "late"]
    assert [b.state for b in chart.bars] == ["expired", "due", "ok"]
    ys = [b.y for b in chart.bars]
    assert ys == sorted(ys) and len(set(ys)) == 3
    # one axis: a later expiry ends further right; now sits 30 days in
    ends = [b.x + b.width for b in chart.bars]
    assert ends == sorted(ends)
    assert chart.label_width < chart.now_x < ends[1]
    assert chart.height > chart.bars[-1].y


def test_a_bar_past_the_horizon_is_clipped_and_the_threshold_marked() -> None:
    chart = build([_entry(800, lived=1000), _entry(100, lived=200)], NOW, "365")
    short, long_ = chart.bars
    assert long_.clipped and not short.clipped
    assert long_.x + long_.width <= chart.plot_right
    assert short.threshold_x is not None
    assert short.x < short.threshold_x < short.x + short.width
    everything = build([_entry(800, lived=1000)], NOW, "all")
    assert not everything.bars[0].clipped


def test_ticks_label_months_or_years_inside_the_axis() -> None:
    chart = build([_entry(100)], NOW, "365")
    assert 6 <= len(chart.ticks) <= 13
    assert all(chart.label_width <= t.x <= chart.plot_right for t in chart.ticks)
    long_range = build([_entry(100)], NOW, "1825")
    assert all(t.label.isdigit() for t in long_range.ticks)


def test_an_empty_chart_still_has_a_height() -> None:
    chart = build([], NOW)
    assert chart.bars == [] and chart.height > 0
