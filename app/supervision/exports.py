"""The suppressed exports as rows and CSV: one writer for ``vhouse stats export`` / ``stats
tags`` / ``stats feedback`` and the statistics page's downloads (``GET /staff/api/stats.csv``
and the others), so both give the same cells."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.supervision import closing, feedback, rollup, stats
from app.supervision import repository as repo

COLUMNS = (
    "day",
    "queue",
    "topic",
    "language",
    "joins",
    "served",
    "abandoned",
    "dropped",
    "wait_p50",
    "wait_p90",
)
TAG_COLUMNS = ("day", "queue", "dimension", "value", "count")
FEEDBACK_COLUMNS = ("day", "kind", "answer", "count")


def row(export_row: stats.ExportRow) -> dict[str, Any]:
    waits = export_row.wait_percentiles or {}
    return {
        "day": export_row.key.day.isoformat(),
        "queue": export_row.key.queue,
        "topic": export_row.key.topic,
        "language": export_row.key.language,
        "joins": export_row.joins,
        "served": export_row.served,
        "abandoned": export_row.abandoned,
        "dropped": export_row.dropped,
        "wait_p50": waits.get(50),
        "wait_p90": waits.get(90),
    }


async def queue_rows(
    session: AsyncSession, *, first: date | None, last: date | None
) -> list[dict[str, Any]]:
    """The stored cells between ``first`` and ``last``, suppressed (``stats.export``)."""
    cells = await rollup.cells(session, first=first, last=last)
    return [row(r) for r in stats.export(cells)]


async def tag_rows(
    session: AsyncSession, *, first: date | None, last: date | None
) -> list[dict[str, Any]]:
    return await closing.export(session, first=first, last=last)


async def feedback_cells(
    session: AsyncSession, *, first: date | None, last: date | None
) -> list[feedback.FeedbackCell]:
    """The stored feedback counts between ``first`` and ``last`` (unsuppressed: internal)."""
    found = await repo.feedback_cells(
        session,
        first_day=None if first is None else first.isoformat(),
        last_day=None if last is None else last.isoformat(),
    )
    return [
        feedback.FeedbackCell(date.fromisoformat(r.day), r.kind, r.answer, r.count) for r in found
    ]


async def feedback_rows(
    session: AsyncSession, *, first: date | None, last: date | None
) -> list[dict[str, Any]]:
    """The after-chat feedback per day, kind and answer, counts under 5 suppressed."""
    return feedback.export_rows(await feedback_cells(session, first=first, last=last))


def to_csv(rows: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> str:
    """CSV with a header; a suppressed (None) count is left empty."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if v is None else v for k, v in r.items()})
    return out.getvalue()
