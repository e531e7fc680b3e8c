"""Supervisor alerts from a snapshot (app/supervision/alerts.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.supervision.alerts import Alert, AlertKind, Snapshot, Thresholds, alerts
from app.triage.engine import OnDutyCounsellor, Priority, QueueKey, WaitingTicket, can_serve

STAFF = (OnDutyCounsellor("c", frozenset({"sv"}), frozenset({"youth"})),)
LIMITS = Thresholds(max_wait=300.0, max_queue=2, urgent_grace=30.0)


def _ticket(tid: int, joined: float, *, urgent: bool = False, kind: str = "youth") -> WaitingTicket:
    priority = Priority.URGENT if urgent else Priority.NORMAL
    return WaitingTicket(tid, kind, "sv", priority, joined)


def test_quiet_queue_raises_nothing() -> None:
    snapshot = Snapshot((_ticket(1, 990.0),), STAFF, is_open=True, now=1000.0)
    assert alerts(snapshot, LIMITS) == []
    assert alerts(Snapshot((), (), is_open=False, now=0.0), LIMITS) == []


def test_every_kind_of_alert() -> None:
    youth = QueueKey("youth")
    tickets = (
        _ticket(1, 0.0),
        _ticket(2, 950.0, urgent=True),
        _ticket(3, 990.0),
        _ticket(4, 999.0, urgent=True),  # within the grace
    )
    found = alerts(Snapshot(tickets, (), is_open=True, now=1000.0), LIMITS)
    assert found == [
        Alert(AlertKind.NOBODY_ON_DUTY, None, None, 0.0, 0.0),
        Alert(AlertKind.UNSERVABLE_URGENT, youth, 2, 50.0, 0.0),
        Alert(AlertKind.UNSERVABLE_URGENT, youth, 4, 1.0, 0.0),
        Alert(AlertKind.URGENT_WAITING, youth, 2, 50.0, 30.0),
        Alert(AlertKind.WAIT_OVER_THRESHOLD, youth, None, 1000.0, 300.0),
        Alert(AlertKind.QUEUE_OVER_THRESHOLD, youth, None, 4.0, 2),
    ]


waiting = st.lists(
    st.builds(
        WaitingTicket,
        id=st.integers(1, 1000),
        kind=st.sampled_from(["youth", "professional"]),
        language=st.just("sv"),
        priority=st.sampled_from(list(Priority)),
        joined_at=st.floats(0, 2000, allow_nan=False),
        skill=st.sampled_from([None, "police"]),
    ),
    unique_by=lambda t: t.id,
    max_size=15,
)


@settings(max_examples=200)
@given(waiting, st.booleans(), st.booleans())
def test_alerts_match_their_definitions(
    tickets: list[WaitingTicket], open_now: bool, staffed: bool
) -> None:
    now = 2000.0
    snapshot = Snapshot(tuple(tickets), STAFF if staffed else (), open_now, now)
    found = alerts(snapshot, LIMITS)
    kinds = [a.kind for a in found]
    assert (AlertKind.NOBODY_ON_DUTY in kinds) == (open_now and not staffed)
    urgent = {a.ticket_id for a in found if a.kind is AlertKind.URGENT_WAITING}
    assert urgent == {
        t.id
        for t in tickets
        if t.priority == Priority.URGENT and now - t.joined_at > LIMITS.urgent_grace
    }
    unservable = {a.ticket_id for a in found if a.kind is AlertKind.UNSERVABLE_URGENT}
    assert unservable == {
        t.id
        for t in tickets
        if t.priority == Priority.URGENT and not any(can_serve(c, t) for c in snapshot.counsellors)
    }
    for key in {t.queue for t in tickets}:
        queue = [t for t in tickets if t.queue == key]
        slow = [a for a in found if a.kind is AlertKind.WAIT_OVER_THRESHOLD and a.queue == key]
        assert len(slow) == (max(now - t.joined_at for t in queue) > LIMITS.max_wait)
        long = [a for a in found if a.kind is AlertKind.QUEUE_OVER_THRESHOLD and a.queue == key]
        assert len(long) == (len(queue) > LIMITS.max_queue)
    assert (
        alerts(Snapshot(tuple(reversed(tickets)), snapshot.counsellors, open_now, now), LIMITS)
        == found
    )


def test_an_urgent_ticket_nobody_on_duty_can_serve_is_an_alert_at_once() -> None:
    """Issue 9 item 5: an urgent ticket in a queue nobody on duty serves (here: the police skill
    queue, while the only counsellor serves the general youth queue) is reported at once, with
    no grace; the same ticket in a served queue is not."""
    police = QueueKey("youth", "police")
    unserved = WaitingTicket(7, "youth", "sv", Priority.URGENT, 999.5, skill="police")
    found = alerts(Snapshot((unserved,), STAFF, is_open=True, now=1000.0), LIMITS)
    assert found == [Alert(AlertKind.UNSERVABLE_URGENT, police, 7, 0.5, 0.0)]
    served = WaitingTicket(8, "youth", "sv", Priority.URGENT, 999.5)
    assert alerts(Snapshot((served,), STAFF, is_open=True, now=1000.0), LIMITS) == []


def test_the_board_lists_a_general_and_a_skill_queue_of_one_kind() -> None:
    from app.supervision.board import board

    tickets = (
        WaitingTicket(1, "youth", "sv", Priority.NORMAL, 990.0, skill="police"),
        WaitingTicket(2, "youth", "sv", Priority.NORMAL, 995.0),
    )
    found = board(Snapshot(tickets, STAFF, is_open=True, now=1000.0), {}, LIMITS)
    assert [q["queue"] for q in found["queues"]] == ["youth", "youth/police"]
