"""Dates and times for the youth pages, formatted by Babel in the page's language."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time, get_day_names

#: Weekday and clock time: "tisdag 09:00", "Tuesday 09:00", "الثلاثاء 09:00".
WEEKDAY_TIME = "EEEE HH:mm"


def weekday_time(at: datetime, timezone: str, locale: str) -> str:
    """``at`` (aware) as weekday and time in the centre's timezone, in ``locale``."""
    if at.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return format_datetime(at, WEEKDAY_TIME, tzinfo=ZoneInfo(timezone), locale=locale)


#: Day and date for a dated exception: "torsdag 24 december", "Thursday 24 December".
WEEKDAY_DATE = "EEEE d MMMM"


def weekday_names(locale: str) -> tuple[str, ...]:
    """The weekdays' names in ``locale``, Monday first (``Schedule.weekly``'s order)."""
    names = get_day_names("wide", locale=locale)
    return tuple(str(names[day]) for day in range(7))


def weekday_date(day: date, locale: str) -> str:
    """A local date as weekday, day and month in ``locale``."""
    return format_date(day, WEEKDAY_DATE, locale=locale)


def clock_time(at: time, locale: str) -> str:
    """A local wall-clock time as ``HH:mm`` in ``locale``; midnight at the end of a day is
    written ``24:00`` by the caller."""
    return format_time(at, "HH:mm", locale=locale)
