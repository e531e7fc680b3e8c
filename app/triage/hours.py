"""Opening hours and the queue-entry decision, pure (DESIGN.md §3.3).

A ``Schedule`` is a weekly plan of local opening intervals plus dated exceptions (a closed day is
an exception with no intervals; special hours replace the weekday's plan for that date), in one
IANA timezone, Europe/Stockholm by default. Intervals are local wall-clock times within one day;
an evening that runs past midnight is written as two intervals on two days. ``end`` of
``time(0)`` means midnight at the end of the day. Instants in and out are timezone-aware
``datetime`` values; the clock is always an argument. ``zoneinfo`` only reads stdlib tz data.

Daylight saving: a repeated wall time (fall back) is open both times. An interval that starts in
the spring-forward gap (02:00-03:00 on the last Sunday of March in Stockholm) is open from the end
of the gap, but ``next_opening`` then reports the start shifted by the gap (e.g. 03:30 for 02:30):
a known simplification, harmless for daytime opening hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Europe/Stockholm"
EMERGENCY_NUMBER = "112"
SEARCH_DAYS = 400  # how far ahead next_opening looks before answering None


@dataclass(frozen=True, slots=True)
class Interval:
    """Local ``[start, end)``; ``end == time(0)`` means until midnight. Raises ``ValueError``
    for an empty or reversed interval."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.end != time(0) and self.end <= self.start:
            raise ValueError("an interval must end after it starts (use two days past midnight)")

    def covers(self, wall: time) -> bool:
        return self.start <= wall and (self.end == time(0) or wall < self.end)


@dataclass(frozen=True, slots=True)
class Schedule:
    """``weekly[0]`` is Monday … ``weekly[6]`` Sunday; missing days are closed."""

    weekly: Mapping[int, tuple[Interval, ...]]
    exceptions: Mapping[date, tuple[Interval, ...]] = field(default_factory=dict)
    timezone: str = DEFAULT_TIMEZONE

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """The local intervals of ``day``: its exception if it has one, else its weekday's."""
        if day in self.exceptions:
            return self.exceptions[day]
        return self.weekly.get(day.weekday(), ())


def _check(at_utc: datetime) -> None:
    if at_utc.tzinfo is None:
        raise ValueError("instants must be timezone-aware")


def is_open(schedule: Schedule, at_utc: datetime) -> bool:
    """Whether the service is open at the instant. Raises ``ValueError`` for a naive datetime."""
    _check(at_utc)
    local = at_utc.astimezone(ZoneInfo(schedule.timezone))
    wall = local.time().replace(tzinfo=None)
    return any(i.covers(wall) for i in schedule.intervals_on(local.date()))


def next_opening(schedule: Schedule, at_utc: datetime) -> datetime | None:
    """The earliest instant ``>= at_utc`` at which the service is open, in UTC.

    ``at_utc`` itself when open now; ``None`` when nothing opens within ``SEARCH_DAYS``.
    Raises ``ValueError`` for a naive datetime.
    """
    _check(at_utc)
    if is_open(schedule, at_utc):
        return at_utc.astimezone(UTC)
    zone = ZoneInfo(schedule.timezone)
    first = at_utc.astimezone(zone).date()
    for offset in range(SEARCH_DAYS):
        day = first + timedelta(days=offset)
        candidates = sorted(
            datetime.combine(day, i.start, tzinfo=zone).replace(fold=fold).astimezone(UTC)
            for i in schedule.intervals_on(day)
            for fold in (0, 1)  # a repeated wall time (fall back) opens twice
        )
        for candidate in candidates:
            if candidate > at_utc and is_open(schedule, candidate):
                return candidate
    return None


def next_session(schedule: Schedule, at_utc: datetime) -> datetime | None:
    """When the chat next opens after ``at_utc``, in UTC: ``next_opening`` while closed; while
    open, the first opening after the current opening hours end. ``None`` when it never closes
    (or nothing opens within ``SEARCH_DAYS``). What a young person waiting for nobody is told
    (PROTOCOL.md §2.1 ``unserved``). Raises ``ValueError`` for a naive datetime."""
    if not is_open(schedule, at_utc):
        return next_opening(schedule, at_utc)
    zone = ZoneInfo(schedule.timezone)
    first = at_utc.astimezone(zone).date()
    for offset in range(SEARCH_DAYS):
        day = first + timedelta(days=offset)
        starts = sorted(
            datetime.combine(day, i.start, tzinfo=zone).replace(fold=fold).astimezone(UTC)
            for i in schedule.intervals_on(day)
            for fold in (0, 1)
        )
        for start in starts:
            # An opening: open from here, closed just before (not the next part of one stretch).
            before = start - timedelta(seconds=1)
            if start > at_utc and is_open(schedule, start) and not is_open(schedule, before):
                return start
    return None


# ------------------------------------------------------------------ the queue-entry decision


class Entry(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    NO_ONE_ON_DUTY = "no_one_on_duty"
    QUEUE_FULL = "queue_full"


@dataclass(frozen=True, slots=True)
class Helpline:
    name: str
    phone: str
    hours: str = ""  # as shown, e.g. "24/7"
    url: str = ""


@dataclass(frozen=True, slots=True)
class EntryPolicy:
    """``queue_cap``: waiting tickets at which new joins are turned away."""

    queue_cap: int = 200
    helplines: tuple[Helpline, ...] = ()
    emergency_number: str = EMERGENCY_NUMBER


@dataclass(frozen=True, slots=True)
class EntryDecision:
    """What to do with a young person asking to queue, and what to tell them.

    ``message`` is a translation key (``queue.open`` …); the shell renders it with
    ``next_opening`` and always shows ``emergency_number`` and ``alternatives`` when
    ``may_queue`` is false, or when the person said they are in danger now.
    """

    status: Entry
    may_queue: bool
    message: str
    emergency_number: str
    alternatives: tuple[Helpline, ...]
    next_opening: datetime | None
    emergency_first: bool  # in danger now: show 112 before anything else


def entry_decision(
    schedule: Schedule,
    at_utc: datetime,
    *,
    on_duty: int,
    waiting: int,
    policy: EntryPolicy,
    danger_now: bool = False,
) -> EntryDecision:
    """Decide whether a new ticket may join, checking in this order: closed, no one on duty,
    queue full, else open. Never a silent wait: every refusal carries the alternatives.

    ``on_duty``: counsellors on duty now; ``waiting``: tickets already waiting.
    """
    if not is_open(schedule, at_utc):
        status = Entry.CLOSED
    elif on_duty <= 0:
        status = Entry.NO_ONE_ON_DUTY
    elif waiting >= policy.queue_cap:
        status = Entry.QUEUE_FULL
    else:
        status = Entry.OPEN
    may_queue = status is Entry.OPEN
    return EntryDecision(
        status=status,
        may_queue=may_queue,
        message=f"queue.{status.value}",
        emergency_number=policy.emergency_number,
        alternatives=policy.helplines,
        next_opening=None if status is not Entry.CLOSED else next_opening(schedule, at_utc),
        emergency_first=danger_now,
    )
