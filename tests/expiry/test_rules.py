"""The pure rules of expiry: ISO weeks, the retention policy, and bucket sealing."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.chat.retention import DAY, OPEN_MARGIN, RetentionPolicy
from app.crypto import bucket
from app.crypto.bucket import BucketError, Place
from app.kit import weeks

instants = st.floats(min_value=1.7e9, max_value=2.2e9, allow_nan=False)
policies = st.builds(
    RetentionPolicy,
    days=st.integers(1, 365),
    by_queue=st.dictionaries(
        st.sampled_from(["youth", "professional", "youth/police"]), st.integers(1, 365)
    ),
    grace_days=st.integers(0, 14),
)


@given(instants)
def test_an_instant_lies_in_its_week(ts: float) -> None:
    week = weeks.week_of(ts)
    assert weeks.is_week(week)
    assert weeks.week_start(week) <= ts < weeks.week_end(week)
    assert weeks.week_end(week) - weeks.week_start(week) == weeks.WEEK_SECONDS
    assert weeks.next_week(week) > week  # ids sort as weeks do
    assert datetime.fromtimestamp(weeks.week_start(week), UTC).weekday() == 0


def test_week_ids_are_checked() -> None:
    assert weeks.is_week("2026-W53")  # 2026 has 53 ISO weeks
    for bad in ("2025-W53", "2026-W00", "2026-W1", "26-W01", "2026-W01.key", ""):
        assert not weeks.is_week(bad), bad
    with pytest.raises(ValueError, match="not a week id"):
        weeks.week_start("../etc")


@given(policies, instants, instants)
def test_a_bucket_key_never_goes_before_its_conversation_expires(
    policy: RetentionPolicy, ended: float, visit: float
) -> None:
    expires = policy.expires_at(kind="youth", skill=None, ended_at=ended, kept_until=visit)
    assert expires >= ended + policy.days_for("youth", None) * DAY
    assert expires >= visit
    week = policy.bucket_for(expires)
    assert policy.destroy_after(week) > expires
    # ... and not much later: at most a week and the grace.
    assert policy.destroy_after(week) - expires <= weeks.WEEK_SECONDS + policy.grace_days * DAY
    assert not policy.needs_moving(bucket=week, expires_at=expires, now=ended)


@given(policies, instants)
def test_an_open_conversation_moves_before_its_bucket_key_could_go(
    policy: RetentionPolicy, now: float
) -> None:
    week = policy.open_bucket(kind="professional", skill=None, now=now)
    assert policy.destroy_after(week) - now >= policy.days_for("professional", None) * DAY
    later = policy.destroy_after(week) - OPEN_MARGIN + 1
    assert policy.needs_moving(bucket=week, expires_at=None, now=later)
    moved = policy.open_bucket(kind="professional", skill=None, now=later)
    assert policy.destroy_after(moved) > later + OPEN_MARGIN


def test_per_queue_retention_falls_back_to_the_kind_then_the_default() -> None:
    policy = RetentionPolicy(days=30, by_queue={"professional": 90, "youth/police": 14})
    assert policy.days_for("youth", "police") == 14
    assert policy.days_for("youth", "health") == 30
    assert policy.days_for("professional", "police") == 90
    assert policy.days_for("youth", None) == 30


def test_an_ended_conversation_in_the_wrong_bucket_moves() -> None:
    policy = RetentionPolicy()
    expires = 1_800_000_000.0
    right = policy.bucket_for(expires)
    assert policy.needs_moving(bucket=weeks.week_of(expires - 8 * DAY), expires_at=expires, now=0)
    assert policy.needs_moving(bucket=weeks.week_of(expires + 8 * DAY), expires_at=expires, now=0)
    assert not policy.needs_moving(bucket=right, expires_at=expires, now=0)


PLACE = Place("C", "AAAAAAAAAAAAAAAAAAAAAA", "0")


@given(st.text(min_size=1, max_size=300))
def test_sealing_round_trips(value: str) -> None:
    key = os.urandom(32)
    sealed = bucket.seal(key, "2026-W49", PLACE, value)
    assert bucket.is_sealed(sealed)
    assert bucket.week_of_sealed(sealed) == "2026-W49"
    assert bucket.open_sealed(key, sealed, PLACE) == value


def test_the_sealed_form_does_not_show_the_value() -> None:
    value = os.urandom(48).hex()
    sealed = bucket.seal(os.urandom(32), "2026-W49", PLACE, value)
    assert value not in sealed
    assert sealed.startswith("b1.2026-W49.")


def test_a_sealed_wrap_opens_only_with_its_key_its_place_and_its_week() -> None:
    key = os.urandom(32)
    sealed = bucket.seal(key, "2026-W49", PLACE, "wrap")
    with pytest.raises(BucketError):
        bucket.open_sealed(os.urandom(32), sealed, PLACE)
    for other in (
        Place("O", PLACE.conv, "0"),
        Place("C", PLACE.conv, "1"),
        Place("C", "B" * 22, "0"),
    ):
        with pytest.raises(BucketError):
            bucket.open_sealed(key, sealed, other)
    moved = sealed.replace("2026-W49", "2026-W50")
    with pytest.raises(BucketError):
        bucket.open_sealed(key, moved, PLACE)
    for damaged in (sealed[:-4], "b1.2026-W49.", "b1.2026-W49.***", "plain"):
        with pytest.raises(BucketError):
            bucket.open_sealed(key, damaged, PLACE)
    with pytest.raises(ValueError, match="32 bytes"):
        bucket.seal(b"short", "2026-W49", PLACE, "wrap")
