"""Opening hours and the queue-entry decision (app/triage/hours.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.triage.hours import (
    Entry,
    EntryPolicy,
    Helpline,
    Interval,
    Schedule,
    entry_decision,
    is_open,
    next_opening,
    next_session,
)

WEEKDAYS = Schedule(
    weekly={d: (Interval(time(9), time(12)), Interval(time(13), time(21))) for d in range(5)},
    exceptions={
        date(2026, 12, 24): (),  # Christmas Eve: closed
        date(2026, 12, 27): (Interval(time(18), time(0)),),  # a Sunday with evening hours
    },
)
POLICY = EntryPolicy(
    queue_cap=3, helplines=(Helpline("Kvinnofridslinjen", "020-50 50 50", "24/7"),)
)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_weekly_hours_in_stockholm_time() -> None:
    # Wednesday 25 November 2026: Stockholm is UTC+1.
    assert not is_open(WEEKDAYS, _utc(2026, 11, 25, 7, 59))
    assert is_open(WEEKDAYS, _utc(2026, 11, 25, 8, 0))
    assert not is_open(WEEKDAYS, _utc(2026, 11, 25, 11, 30))  # lunch
    assert is_open(WEEKDAYS, _utc(2026, 11, 25, 19, 59))
    assert not is_open(WEEKDAYS, _utc(2026, 11, 25, 20, 0))
    # Summer time: UTC+2.
    assert is_open(WEEKDAYS, _utc(2026, 6, 17, 7, 0))
    assert not is_open(WEEKDAYS, _utc(2026, 6, 17, 6, 59))


def test_exceptions_replace_the_weekday() -> None:
    assert not is_open(WEEKDAYS, _utc(2026, 12, 24, 10, 0))
    assert is_open(WEEKDAYS, _utc(2026, 12, 27, 22, 59))  # 23:59 local, until midnight
    assert not is_open(WEEKDAYS, _utc(2026, 12, 27, 23, 0))
    assert next_opening(WEEKDAYS, _utc(2026, 12, 24, 10, 0)) == _utc(2026, 12, 25, 8, 0)
    assert next_opening(WEEKDAYS, _utc(2026, 12, 26, 10, 0)) == _utc(2026, 12, 27, 17, 0)


def test_never_open_and_naive_instants() -> None:
    closed = Schedule(weekly={})
    assert next_opening(closed, _utc(2026, 1, 1)) is None
    with pytest.raises(ValueError, match="aware"):
        is_open(WEEKDAYS, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="end after"):
        Interval(time(12), time(9))


def test_entry_decisions_tell_what_to_do() -> None:
    open_at = _utc(2026, 11, 25, 9)
    ok = entry_decision(WEEKDAYS, open_at, on_duty=2, waiting=0, policy=POLICY)
    assert (ok.status, ok.may_queue, ok.message) == (Entry.OPEN, True, "queue.open")
    closed = entry_decision(WEEKDAYS, _utc(2026, 11, 28, 9), on_duty=2, waiting=0, policy=POLICY)
    assert closed.status is Entry.CLOSED
    assert not closed.may_queue
    assert closed.next_opening == _utc(2026, 11, 30, 8, 0)
    assert closed.emergency_number == "112"
    assert closed.alternatives == POLICY.helplines
    nobody = entry_decision(WEEKDAYS, open_at, on_duty=0, waiting=0, policy=POLICY)
    assert nobody.status is Entry.NO_ONE_ON_DUTY
    full = entry_decision(WEEKDAYS, open_at, on_duty=1, waiting=3, policy=POLICY, danger_now=True)
    assert (full.status, full.may_queue, full.emergency_first) == (Entry.QUEUE_FULL, False, True)


# Daytime intervals on whole quarter hours (clear of the 02:00-03:00 DST gap).
quarters = st.integers(6 * 4, 23 * 4).map(lambda q: time(q // 4, (q % 4) * 15))
intervals = (
    st.tuples(quarters, quarters).filter(lambda se: se[0] < se[1]).map(lambda se: Interval(*se))
)
schedules = st.builds(
    Schedule,
    weekly=st.dictionaries(st.integers(0, 6), st.lists(intervals, max_size=2).map(tuple)),
    exceptions=st.dictionaries(
        st.dates(date(2026, 1, 1), date(2027, 12, 31)),
        st.lists(intervals, max_size=2).map(tuple),
        max_size=5,
    ),
)
instants = st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC))


@settings(max_examples=150, deadline=None)
@given(schedules, instants)
def test_next_opening_is_the_first_open_instant(schedule: Schedule, at: datetime) -> None:
    found = next_opening(schedule, at)
    if is_open(schedule, at):
        assert found == at
        return
    if found is None:
        assert not any(schedule.weekly.values())
        return
    assert found > at
    assert is_open(schedule, found)
    # Closed just before it, and (sampled) everywhere between.
    assert not is_open(schedule, found - timedelta(seconds=1))
    step = (found - at) / 16
    assert not any(is_open(schedule, at + step * i) for i in range(16))


@given(schedules, instants, st.integers(0, 3), st.integers(0, 5))
def test_only_open_lets_in_and_refusals_offer_alternatives(
    schedule: Schedule, at: datetime, on_duty: int, waiting: int
) -> None:
    decision = entry_decision(schedule, at, on_duty=on_duty, waiting=waiting, policy=POLICY)
    assert decision.may_queue == (decision.status is Entry.OPEN)
    if decision.may_queue:
        assert is_open(schedule, at)
        assert on_duty > 0
        assert waiting < POLICY.queue_cap
    else:
        assert decision.emergency_number == "112"
        assert decision.alternatives


def test_next_session_is_the_next_opening_after_closing() -> None:
    """What a young person waiting for nobody is told (issue 9 item 5): while open, the next
    opening after today's hours end; while closed, the next opening; never for always-open."""
    # Wednesday 25 November 2026 10:00 Stockholm (09:00 UTC): open until 12:00, then 13:00.
    assert next_session(WEEKDAYS, _utc(2026, 11, 25, 9, 0)) == _utc(2026, 11, 25, 12, 0)
    # 20:30 Stockholm: open until 21:00; next: Thursday 09:00 (08:00 UTC).
    assert next_session(WEEKDAYS, _utc(2026, 11, 25, 19, 30)) == _utc(2026, 11, 26, 8, 0)
    # Closed (lunch): the next opening.
    assert next_session(WEEKDAYS, _utc(2026, 11, 25, 11, 30)) == _utc(2026, 11, 25, 12, 0)
    always = Schedule(weekly={d: (Interval(time(0), time(0)),) for d in range(7)})
    assert next_session(always, _utc(2026, 11, 25, 9, 0)) is None


@settings(max_examples=100, deadline=None)
@given(schedules, instants)
def test_next_session_opens_after_a_closed_moment(schedule: Schedule, at: datetime) -> None:
    found = next_session(schedule, at)
    if not is_open(schedule, at):
        assert found == next_opening(schedule, at)
        return
    if found is not None:
        assert found > at
        assert is_open(schedule, found)
        assert not is_open(schedule, found - timedelta(seconds=1))
