"""The statistics page's numbers (pure): service level for any threshold, sums suppressed as
``stats.export`` suppresses a cell, days without data, close tags per value, ranges."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.supervision import report, stats
from app.supervision.report import TagCell
from app.supervision.statistics import choose_range, duration

DAY = date(2026, 11, 25)


def _cell(joins: int, served: int, abandoned: int, waits: tuple[float, ...] = ()) -> stats.Cell:
    return stats.Cell(joins, served, abandoned, tuple(sorted(waits)))


def _key(
    day: date = DAY, queue: str = "youth", topic: str = "", language: str = "sv"
) -> stats.CellKey:
    return stats.CellKey(day, queue, topic, language)


def test_service_level_for_any_threshold() -> None:
    waits = (10.0, 60.0, 119.0, 120.0, 121.0, 600.0)
    assert stats.service_level(waits, 120) == pytest.approx(4 / 6)
    assert stats.service_level(waits, 60) == pytest.approx(2 / 6)
    assert stats.service_level(waits, 5) == 0
    assert stats.service_level(waits, 3600) == 1
    # Fewer than 5 served waits: suppressed, as the wait percentiles are.
    assert stats.service_level(waits[:4], 120) is None
    assert stats.service_level((), 120) is None


def test_figures_sum_cells_then_suppress_like_the_export() -> None:
    # Two cells of 3 joins each: each alone suppressed, together 6 (shown).
    a = _cell(3, 3, 0, (30.0, 60.0, 200.0))
    b = _cell(3, 2, 1, (90.0, 100.0))
    f = report.figures([a, b], within_seconds=120)
    assert f.joins == 6
    # served 5 but abandoned 1: one suppressed means both are (as stats.export does).
    assert f.served is None
    assert f.abandoned is None
    assert f.dropped is None  # 0 is suppressed too
    assert f.wait_p50 == 90.0
    assert f.wait_p90 == 200.0
    assert f.service_level == pytest.approx(4 / 5)

    small = report.figures([_cell(4, 4, 0, (1, 2, 3, 4))], within_seconds=120)
    assert small == report.Figures(None, None, None, None, None, None, None)
    assert report.figures([], within_seconds=120).joins is None


def test_daily_has_every_day_and_filters_by_queue() -> None:
    cells = {
        _key(date(2026, 11, 24)): _cell(5, 5, 0, (1, 2, 3, 4, 500)),
        _key(date(2026, 11, 24), queue="youth/police"): _cell(7, 0, 7),
        _key(date(2026, 11, 26), topic="control"): _cell(2, 2, 0, (1, 2)),
        _key(date(2026, 11, 26), topic="threats"): _cell(3, 3, 0, (3, 4, 5)),
    }
    days = report.daily(
        cells, date(2026, 11, 24), date(2026, 11, 26), queue="youth", within_seconds=120
    )
    assert [d for d, _ in days] == [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)]
    first, empty, last = (f for _, f in days)
    assert (first.joins, first.served, first.abandoned) == (5, None, None)  # abandoned 0
    assert first.service_level == pytest.approx(4 / 5)
    assert empty.joins is None
    assert (last.joins, last.served) == (5, None)  # the two topics summed
    everything = report.daily(
        cells, date(2026, 11, 24), date(2026, 11, 24), queue=None, within_seconds=120
    )
    assert (everything[0][1].joins, everything[0][1].served, everything[0][1].abandoned) == (
        12,
        5,
        7,
    )
    today = report.day_figures(cells, date(2026, 11, 24), queue="youth/police", within_seconds=120)
    assert today.joins == 7
    assert today.service_level is None


def test_tag_totals_sum_over_days_and_suppress_small_ones() -> None:
    cells = [
        TagCell(date(2026, 11, 24), "youth", "outcome", "safety_plan", 3),
        TagCell(date(2026, 11, 25), "youth", "outcome", "safety_plan", 3),
        TagCell(date(2026, 11, 25), "youth", "outcome", "advice_given", 4),
        TagCell(date(2026, 11, 25), "youth/police", "outcome", "advice_given", 4),
        TagCell(date(2026, 11, 25), "youth", "outcome", "retired_value", 9),
        TagCell(date(2026, 11, 25), "youth", "referral", "police", 50),
    ]
    vocab = [
        ("advice_given", "Advice given"),
        ("safety_plan", "Safety plan made"),
        ("other", "Other"),
    ]
    totals = report.tag_totals(cells, "outcome", vocab, queue=None)
    assert [(t.id, t.label, t.count) for t in totals] == [
        ("advice_given", "Advice given", 8),
        ("safety_plan", "Safety plan made", 6),
        ("other", "Other", None),
        ("retired_value", "retired_value", 9),
    ]
    youth = report.tag_totals(cells, "outcome", vocab, queue="youth")
    assert [t.count for t in youth] == [None, 6, None, 9]
    assert report.queues([_key()], cells) == ["youth", "youth/police"]


def test_ranges() -> None:
    today = date(2026, 12, 1)
    assert choose_range(None, None, today) == (date(2026, 11, 2), today)
    assert choose_range("2026-11-01", None, today) == (date(2026, 11, 1), date(2026, 11, 30))
    assert choose_range(None, "2026-11-30", today) == (date(2026, 11, 1), date(2026, 11, 30))
    assert choose_range("2026-11-05", "2026-11-05", today) == (date(2026, 11, 5), date(2026, 11, 5))
    with pytest.raises(report.BadRange, match="after"):
        choose_range("2026-11-06", "2026-11-05", today)
    with pytest.raises(report.BadRange, match="YYYY-MM-DD"):
        choose_range("yesterday", None, today)
    with pytest.raises(report.BadRange, match="366"):
        choose_range("2024-01-01", "2026-01-01", today)


def test_day_bounds_are_local_midnights() -> None:
    since, until = report.day_bounds(date(2026, 11, 25), date(2026, 11, 25), "Europe/Stockholm")
    assert since is not None
    assert until is not None
    zone = ZoneInfo("Europe/Stockholm")
    assert datetime.fromtimestamp(since, zone).isoformat() == "2026-11-25T00:00:00+01:00"
    assert until - since == 86400
    assert report.day_bounds(None, None, "Europe/Stockholm") == (None, None)


@pytest.mark.parametrize(
    ("seconds", "text"), [(45, "45 s"), (125, "2 min 05 s"), (3720, "1 h 02 min")]
)
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text
