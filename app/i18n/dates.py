"""Dates and times for the youth pages, formatted by Babel in the page's language."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

#: Weekday and clock time: "tisdag 09:00", "Tuesday 09:00", "الثلاثاء 09:00".
WEEKDAY_TIME = "EEEE HH:mm"


def weekday_time(at: datetime, timezone: str, locale: str) -> str:
    """``at`` (aware) as weekday and time in the centre's timezone, in ``locale``."""
    if at.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return format_datetime(at, WEEKDAY_TIME, tzinfo=ZoneInfo(timezone), locale=locale)
