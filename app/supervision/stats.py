"""Anonymous aggregates per day, queue, topic and language, and their suppressed export.

These outlive the conversations (DESIGN.md §3.9), so they hold counts and wait percentiles only,
never a ticket. ``aggregate`` builds full cells (for internal use); ``export`` is the only form
that may leave the system: every count under ``MIN_COUNT`` (0 included) is suppressed, and wait
percentiles are shown only when at least ``MIN_COUNT`` served waits stand behind them, so no
single young person's visit can be read off a published cell. When exactly one of ``served`` and
``abandoned`` is suppressed the other is suppressed too, so neither can be derived from ``joins``.
Differences between cells of different exports (e.g. per day vs per week) are not guarded here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.triage.hours import DEFAULT_TIMEZONE

MIN_COUNT = 5
PERCENTILES = (50, 90)


class Outcome(StrEnum):
    SERVED = "served"
    ABANDONED = "abandoned"
    OTHER = "other"  # still waiting, refused, …: counted in joins only


@dataclass(frozen=True, slots=True)
class Visit:
    """One ticket's anonymous routing facts; ``wait`` in seconds until served or abandoned."""

    joined_at: float  # epoch seconds
    queue: str
    topic: str | None
    language: str
    outcome: Outcome
    wait: float | None = None


@dataclass(frozen=True, slots=True, order=True)
class CellKey:
    day: date  # local date of joining
    queue: str
    topic: str  # "" when not given
    language: str


@dataclass(frozen=True, slots=True)
class Cell:
    joins: int
    served: int
    abandoned: int
    served_waits: tuple[float, ...]  # sorted; internal only, never exported
    #: Served chats that ended because the young person's connection never came back.
    dropped: int = 0


@dataclass(frozen=True, slots=True)
class ExportRow:
    key: CellKey
    joins: int | None  # None: suppressed
    served: int | None
    abandoned: int | None
    wait_percentiles: dict[int, float] | None
    dropped: int | None = None


def percentile(sorted_values: tuple[float, ...], p: int) -> float:
    """Nearest-rank percentile of a non-empty sorted sequence. Raises ``ValueError`` if empty."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def local_day(joined_at: float, timezone: str = DEFAULT_TIMEZONE) -> date:
    """The local date a visit is counted under."""
    return datetime.fromtimestamp(joined_at, UTC).astimezone(ZoneInfo(timezone)).date()


def aggregate(visits: Iterable[Visit], timezone: str = DEFAULT_TIMEZONE) -> dict[CellKey, Cell]:
    """Counts per (local day, queue, topic, language). ``joins >= served + abandoned``."""
    counts: dict[CellKey, tuple[int, int, int, list[float]]] = {}
    for visit in visits:
        day = local_day(visit.joined_at, timezone)
        key = CellKey(day, visit.queue, visit.topic or "", visit.language)
        joins, served, abandoned, waits = counts.get(key, (0, 0, 0, []))
        if visit.outcome is Outcome.SERVED:
            served += 1
            if visit.wait is not None:
                waits.append(visit.wait)
        elif visit.outcome is Outcome.ABANDONED:
            abandoned += 1
        counts[key] = (joins + 1, served, abandoned, waits)
    return {
        key: Cell(joins, served, abandoned, tuple(sorted(waits)))
        for key, (joins, served, abandoned, waits) in counts.items()
    }


def _shown(count: int, min_count: int) -> int | None:
    return count if count >= min_count else None


def export(cells: dict[CellKey, Cell], min_count: int = MIN_COUNT) -> list[ExportRow]:
    """The publishable rows, sorted by key, with small counts suppressed (module docstring)."""
    rows: list[ExportRow] = []
    for key in sorted(cells):
        cell = cells[key]
        served = _shown(cell.served, min_count)
        abandoned = _shown(cell.abandoned, min_count)
        if (served is None) != (abandoned is None):
            served = abandoned = None
        waits = cell.served_waits
        shown_waits = (
            {p: percentile(waits, p) for p in PERCENTILES} if len(waits) >= min_count else None
        )
        rows.append(
            ExportRow(
                key,
                _shown(cell.joins, min_count),
                served,
                abandoned,
                shown_waits,
                _shown(cell.dropped, min_count),
            )
        )
    return rows


def merge(cells: Iterable[Cell]) -> Cell:
    """One cell holding the sums of ``cells`` (a coarser grouping, suppressed by ``export``)."""
    joins = served = abandoned = dropped = 0
    waits: list[float] = []
    for cell in cells:
        joins += cell.joins
        served += cell.served
        abandoned += cell.abandoned
        dropped += cell.dropped
        waits += cell.served_waits
    return Cell(joins, served, abandoned, tuple(sorted(waits)), dropped)


def service_level(
    sorted_waits: tuple[float, ...], within_seconds: float, min_count: int = MIN_COUNT
) -> float | None:
    """The share (0..1) of served waits at most ``within_seconds``; None (suppressed) when fewer
    than ``min_count`` served waits stand behind it, as for the wait percentiles."""
    if len(sorted_waits) < min_count:
        return None
    return sum(1 for w in sorted_waits if w <= within_seconds) / len(sorted_waits)
