"""Sliding-window rate limits (app/kit/ratelimit.py)."""

from __future__ import annotations

from app.kit.ratelimit import KeyedSlots, KeyedWindows


def test_a_refunded_hit_does_not_count() -> None:
    """Issue 9 item 6: a join that did not enter the queue gives its hit back."""
    limits = KeyedWindows(limit=3, window=600.0)
    for second in range(10):  # ten refused joins in a row
        assert limits.hit("school", float(second))
        limits.refund("school")
    assert limits.retry_after("school", 10.0) == 0.0
    for second in range(3):
        assert limits.hit("school", 10.0 + second)
    assert not limits.hit("school", 20.0)
    assert 0 < limits.retry_after("school", 20.0) <= 600.0
    limits.refund("nobody")  # unknown keys: nothing to give back
    assert limits.hit("other", 20.0)


def test_keyed_slots_bound_each_key_and_forget_released_ones() -> None:
    slots = KeyedSlots(2)
    assert slots.take("a")
    assert slots.take("a")
    assert not slots.take("a")
    assert slots.take("b")  # another key has its own slots
    slots.release("a")
    assert slots.held("a") == 1
    assert slots.take("a")
    for _ in range(2):
        slots.release("a")
    slots.release("b")
    assert slots._held == {}
