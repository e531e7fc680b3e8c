"""Honest wait estimates (app/triage/waits.py): ranges, never points; unknown without data."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.triage.engine import OnDutyCounsellor, Priority, WaitingTicket
from app.triage.waits import Unknown, WaitRange, estimate, mean_duration, serving_slots

durations = st.lists(st.floats(0, 7200, allow_nan=False), max_size=30)


def test_unknown_without_data_or_staff() -> None:
    assert estimate(1, None, 4) == Unknown("no_data")
    assert estimate(1, 600.0, 0) == Unknown("no_one_on_duty")
    assert mean_duration([]) is None


def test_mean_weighs_recent_chats_more() -> None:
    assert mean_duration([600.0]) == 600.0
    mean = mean_duration([600.0, 1200.0], alpha=0.5)
    assert mean == 900.0
    assert mean_duration([100.0, -5.0]) == 100.0  # clock trouble ignored
    with pytest.raises(ValueError, match="alpha"):
        mean_duration([1.0], alpha=0.0)


def test_a_range_in_whole_minutes() -> None:
    # Position 3, two counsellors with capacity 2 each, 20-minute chats: about 15 minutes.
    assert estimate(3, 1200.0, 4) == WaitRange(low=420.0, high=1380.0)
    assert estimate(1, 1200.0, 4, free=1) == WaitRange(low=0.0, high=60.0)


@settings(max_examples=200)
@given(
    recent=durations,
    position=st.integers(1, 60),
    slots=st.integers(0, 20),
    free=st.integers(0, 20),
)
def test_ranges_are_ordered_and_monotone(
    recent: list[float], position: int, slots: int, free: int
) -> None:
    mean = mean_duration(recent)
    now = estimate(position, mean, slots, free=free)
    if mean is None or slots == 0:
        assert isinstance(now, Unknown)
        return
    assert isinstance(now, WaitRange)
    assert 0 <= now.low <= now.high
    assert now.high > 0  # never "no wait": a range, not a promise
    behind = estimate(position + 1, mean, slots, free=free)
    assert isinstance(behind, WaitRange)
    assert (behind.low, behind.high) >= (now.low, now.high)
    assert behind.low >= now.low
    assert behind.high >= now.high
    if slots > 1:
        fewer = estimate(position, mean, slots - 1, free=free)
        assert isinstance(fewer, WaitRange)
        assert fewer.low >= now.low
        assert fewer.high >= now.high


@given(recent=st.lists(st.floats(1, 7200, allow_nan=False), min_size=1, max_size=30))
def test_mean_lies_within_the_durations(recent: list[float]) -> None:
    mean = mean_duration(recent)
    assert mean is not None
    assert min(recent) - 1e-6 <= mean <= max(recent) + 1e-6


def test_slots_count_only_who_can_serve() -> None:
    ticket = WaitingTicket(1, "youth", "sv", Priority.NORMAL, 0.0, skill="police")
    staff = [
        OnDutyCounsellor("a", frozenset({"sv"}), frozenset({"youth", "police"}), 2, 1),
        OnDutyCounsellor("b", frozenset({"sv"}), frozenset({"youth"}), 2, 0),
        OnDutyCounsellor("c", frozenset({"sv"}), frozenset({"youth", "police"}), 3, 4),
    ]
    assert serving_slots(ticket, staff) == (5, 1)
