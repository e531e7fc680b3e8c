"""The opening hours as a page shows them: the configured schedule in the page's language.

Pure: a ``Schedule``, an instant and a locale in, rows of text out (weekday names, dates and
times by Babel, app/i18n/dates.py). The template adds the words ("Closed", "Open all day").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.i18n import dates
from app.triage import hours

#: How far ahead the page lists dated exceptions (holidays, special hours).
EXCEPTIONS_AHEAD_DAYS = 31


@dataclass(frozen=True, slots=True)
class Day:
    """One row: the day's name (or date), its opening times ``("09:00", "17:00")``, and
    whether it is open the whole day (``00:00``-``24:00``)."""

    name: str
    times: tuple[tuple[str, str], ...]
    all_day: bool


@dataclass(frozen=True, slots=True)
class HoursView:
    open_now: bool
    #: "tisdag 09:00" when closed now and an opening is known, else "".
    next_opening: str
    week: tuple[Day, ...]
    exceptions: tuple[Day, ...]
    timezone: str


def _capital(text: str) -> str:
    """A row heading starts with a capital where the script has them ("Måndag")."""
    return text[:1].upper() + text[1:]


def _day(name: str, intervals: tuple[hours.Interval, ...], locale: str) -> Day:
    times = tuple(
        (
            dates.clock_time(i.start, locale),
            "24:00" if i.end == time(0) else dates.clock_time(i.end, locale),
        )
        for i in intervals
    )
    all_day = any(i.start == time(0) and i.end == time(0) for i in intervals)
    return Day(name=_capital(name), times=times, all_day=all_day)


def view(schedule: hours.Schedule, now: datetime, locale: str) -> HoursView:
    """What the opening-hours page says at ``now`` (aware) in ``locale``."""
    open_now = hours.is_open(schedule, now)
    upcoming = None if open_now else hours.next_opening(schedule, now)
    names = dates.weekday_names(locale)
    week = tuple(_day(names[d], schedule.weekly.get(d, ()), locale) for d in range(7))
    today = now.astimezone(ZoneInfo(schedule.timezone)).date()
    last = today + timedelta(days=EXCEPTIONS_AHEAD_DAYS)
    exceptions = tuple(
        _day(dates.weekday_date(day, locale), schedule.exceptions[day], locale)
        for day in sorted(schedule.exceptions)
        if today <= day <= last
    )
    return HoursView(
        open_now=open_now,
        next_opening=(
            "" if upcoming is None else dates.weekday_time(upcoming, schedule.timezone, locale)
        ),
        week=week,
        exceptions=exceptions,
        timezone=schedule.timezone,
    )
