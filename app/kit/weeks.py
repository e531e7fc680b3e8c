"""ISO weeks in UTC as ids (``2026-W49``), and where they begin and end; pure.

Expiry buckets are named by the week in which their conversations expire (CRYPTO.md §6).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Final

WEEK_SECONDS: Final = 7 * 86400
_ID = re.compile(r"^(\d{4})-W(\d{2})$")


def week_of(ts: float) -> str:
    """The id of the ISO week (UTC) that holds the instant ``ts``."""
    year, week, _ = datetime.fromtimestamp(ts, UTC).isocalendar()
    return f"{year:04d}-W{week:02d}"


def is_week(text: str) -> bool:
    """Whether ``text`` is a week id this module makes (``YYYY-Www`` of a real ISO week)."""
    match = _ID.match(text)
    if match is None:
        return False
    try:
        date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        return False
    return True


def week_start(week: str) -> float:
    """Monday 00:00 UTC of ``week``; ``ValueError`` for anything but a week id."""
    match = _ID.match(week)
    if match is None:
        raise ValueError(f"not a week id: {week!r}")
    monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC).timestamp()


def week_end(week: str) -> float:
    """The first instant after ``week``: the next Monday 00:00 UTC."""
    return week_start(week) + WEEK_SECONDS


def next_week(week: str) -> str:
    return week_of(week_end(week))
