"""The statistics page's numbers from the anonymous aggregates, pure and suppressed.

Cells are summed to the grouping shown (a day, or today, for one queue or all) and the sum goes
through ``stats.export``, so a shown figure is suppressed exactly as the CSV export suppresses a
cell: counts under 5 (0 included), served and abandoned together, wait percentiles and the
service level only with at least 5 served waits behind them. Close tags are summed per value
over the range and shown only from 5. Today is one total: the aggregates are per local day, and
per hour nearly every cell of a small helpline would be suppressed anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.supervision import stats

#: The longest range one page shows (a year of daily columns).
MAX_DAYS = 366
DEFAULT_DAYS = 30


@dataclass(frozen=True, slots=True)
class Figures:
    joins: int | None  # None: suppressed
    served: int | None
    abandoned: int | None
    dropped: int | None
    wait_p50: float | None  # seconds
    wait_p90: float | None
    #: Share (0..1) of served chats answered within the configured minutes.
    service_level: float | None


@dataclass(frozen=True, slots=True)
class TagCount:
    id: str
    label: str
    count: int | None  # None: suppressed


@dataclass(frozen=True, slots=True)
class TagCell:
    """One stored close-tag count (``close_stats``)."""

    day: date
    queue: str
    dimension: str
    value: str
    count: int


class BadRange(ValueError):
    """A range that ends before it starts, or is longer than ``MAX_DAYS``."""


def default_range(today: date) -> tuple[date, date]:
    """The last 30 days, today included."""
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def check_range(first: date, last: date) -> tuple[date, date]:
    if first > last:
        raise BadRange(f"the first day {first} is after the last day {last}")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadRange(f"at most {MAX_DAYS} days at a time")
    return first, last


def figures(cells: Iterable[stats.Cell], within_seconds: float) -> Figures:
    """The suppressed figures of the sum of ``cells`` (none: every count suppressed)."""
    merged = stats.merge(cells)
    (row,) = stats.export({stats.CellKey(date.min, "", "", ""): merged})
    waits = row.wait_percentiles or {}
    return Figures(
        joins=row.joins,
        served=row.served,
        abandoned=row.abandoned,
        dropped=row.dropped,
        wait_p50=waits.get(50),
        wait_p90=waits.get(90),
        service_level=stats.service_level(merged.served_waits, within_seconds),
    )


def _in_queue(key: stats.CellKey, queue: str | None) -> bool:
    return queue is None or key.queue == queue


def daily(
    cells: Mapping[stats.CellKey, stats.Cell],
    first: date,
    last: date,
    *,
    queue: str | None,
    within_seconds: float,
) -> list[tuple[date, Figures]]:
    """One row per local day from ``first`` to ``last`` (inclusive), days without cells too."""
    by_day: dict[date, list[stats.Cell]] = {}
    for key, cell in cells.items():
        if _in_queue(key, queue):
            by_day.setdefault(key.day, []).append(cell)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [(day, figures(by_day.get(day, []), within_seconds)) for day in days]


def day_figures(
    cells: Mapping[stats.CellKey, stats.Cell],
    day: date,
    *,
    queue: str | None,
    within_seconds: float,
) -> Figures:
    chosen = [c for k, c in cells.items() if k.day == day and _in_queue(k, queue)]
    return figures(chosen, within_seconds)


def tag_totals(
    cells: Iterable[TagCell],
    dimension: str,
    vocabulary: Sequence[tuple[str, str]],
    *,
    queue: str | None,
    min_count: int = stats.MIN_COUNT,
) -> list[TagCount]:
    """Counts per value of ``dimension`` over the cells given: the vocabulary's ``(id, label)``
    in its order, then values no longer in it (by id, labelled by id); under ``min_count``
    suppressed."""
    totals: dict[str, int] = {}
    for cell in cells:
        if cell.dimension == dimension and (queue is None or cell.queue == queue):
            totals[cell.value] = totals.get(cell.value, 0) + cell.count
    known = dict(vocabulary)
    ids = list(known) + sorted(set(totals) - set(known))
    return [
        TagCount(
            id=value,
            label=known.get(value, value),
            count=totals.get(value, 0) if totals.get(value, 0) >= min_count else None,
        )
        for value in ids
    ]


def queues(cells: Iterable[stats.CellKey], tags: Iterable[TagCell]) -> list[str]:
    """Every queue the stored figures name, sorted: the page's queue filter."""
    return sorted({k.queue for k in cells} | {t.queue for t in tags})


def day_bounds(
    first: date | None, last: date | None, timezone: str
) -> tuple[float | None, float | None]:
    """``since <= t < until`` in unix seconds covering the local days ``first``..``last``."""
    zone = ZoneInfo(timezone)

    def start(day: date) -> float:
        return datetime.combine(day, time(), zone).timestamp()

    return (
        None if first is None else start(first),
        None if last is None else start(last + timedelta(days=1)),
    )
