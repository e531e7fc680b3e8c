"""Standings (place + wait range) and the supervisors' board, pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from app.relay import frames
from app.supervision import alerts, board
from app.triage import hours, waits
from app.triage.engine import OnDutyCounsellor, Place, Priority, WaitingTicket
from app.triage.positions import Standing, served, standings

SV = frozenset({"sv"})


def _ticket(i: int, language: str = "sv", urgent: bool = False) -> WaitingTicket:
    priority = Priority.URGENT if urgent else Priority.NORMAL
    return WaitingTicket(i, "youth", language, priority, joined_at=float(i))


def _counsellor(cid: str, load: int) -> OnDutyCounsellor:
    return OnDutyCounsellor(cid, SV, frozenset({"youth"}), capacity=2, load=load)


def test_standings_give_places_and_ranges() -> None:
    tickets = [_ticket(1), _ticket(2), _ticket(3, urgent=True), _ticket(4, language="ar")]
    counsellors = [_counsellor("a", 2), _counsellor("b", 2)]
    found = standings(tickets, counsellors, mean=600.0)
    # One queue per kind and skill (languages share it): urgent first, then by join.
    assert found[3] == Standing(Place(1, 4), waits.estimate(1, 600.0, 4))
    assert found[2].place == Place(3, 4)
    assert isinstance(found[2].estimate, waits.WaitRange)
    assert found[2].estimate.low <= 3 * 600 / 4 <= found[2].estimate.high
    assert found[4].estimate == waits.Unknown("no_one_on_duty")  # nobody speaks ar
    assert standings(tickets, counsellors, mean=None)[1].estimate == waits.Unknown("no_data")
    assert set(standings(tickets, counsellors, 600.0, wanted=[2, 99])) == {2}


def test_position_frame() -> None:
    wait = waits.WaitRange(60.0, 180.0)
    assert frames.position(Place(2, 5), wait) == (
        '{"type":"position","position":2,"waiting":5,'
        '"estimate":{"min_seconds":60,"max_seconds":180}}'
    )
    unknown = frames.position(Place(1, 1), waits.Unknown("no_data"))
    assert unknown.endswith('"estimate":null}')


def test_board_lists_queues_staff_chats_and_alerts() -> None:
    snapshot = alerts.Snapshot(
        tickets=(_ticket(1, urgent=True), _ticket(2), _ticket(3, language="ar")),
        counsellors=(_counsellor("a", 1),),
        is_open=True,
        now=1000.0,
    )
    chats = [
        board.ActiveChat("a", "youth", "sv", False, opened_at=400.0, waited_seconds=30.5),
        board.ActiveChat("a", "youth", "sv", True, opened_at=900.0, waited_seconds=2.0),
    ]
    acks = {board.alert_key("wait_over_threshold", "youth"): board.Ack("b", 990.0)}
    shown = board.board(
        snapshot, {"a": "Sara", "b": "Lena"}, alerts.Thresholds(max_wait=600.0), chats, acks
    )
    assert shown["queues"] == [
        {
            "queue": "youth",
            "waiting": 3,
            "urgent": 1,
            "unservable": 1,  # nobody on duty speaks ar
            "longest_wait_seconds": 999,
            "oldest_joined_at": 1,
            "languages": ["ar", "sv"],
        }
    ]
    assert shown["on_duty"][0]["alias"] == "Sara"
    assert shown["on_duty"][0]["load"] == 1
    assert shown["on_duty"][0]["status"] == "busy"
    assert [(c["urgent"], c["duration_seconds"], c["waited_seconds"]) for c in shown["chats"]] == [
        (True, 100, 2),
        (False, 600, 30),
    ]
    assert {c["counsellor"] for c in shown["chats"]} == {"Sara"}
    kinds = [a["kind"] for a in shown["alerts"]]
    assert kinds == ["urgent_waiting", "wait_over_threshold"]
    acked = {a["kind"]: (a["acked_by"], a["acked_at"]) for a in shown["alerts"]}
    assert acked == {"urgent_waiting": (None, None), "wait_over_threshold": ("Lena", 990)}


def test_standings_say_whether_anyone_on_duty_can_serve() -> None:
    """Issue 9 item 5: ``served`` is ``engine.can_be_served``, however full the counsellors are;
    ``positions.served`` gives the same for every watcher."""
    tickets = [_ticket(1), _ticket(2, language="ar")]
    full = [_counsellor("a", 2)]
    found = standings(tickets, full, mean=600.0)
    assert found[1].served
    assert not found[2].served
    assert served(tickets, full, [1, 2, 99]) == {1: True, 2: False}
    assert served(tickets, [], [1]) == {1: False}
    assert not standings(tickets, [], mean=600.0)[1].served


def test_unserved_served_and_refusal_frames() -> None:
    policy = hours.EntryPolicy(helplines=(hours.Helpline("BRIS", "116 111", "24/7"),))
    opening = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    frame = json.loads(frames.unserved(policy, opening, urgent=False))
    assert frame == {
        "type": "unserved",
        "message": "no counsellor who can answer this chat is on duty right now; "
        "if you are in danger, call 112",
        "emergency": "112",
        "helplines": [{"name": "BRIS", "phone": "116 111", "hours": "24/7", "url": ""}],
        "next_opening": int(opening.timestamp()),
    }
    urgent = json.loads(frames.unserved(policy, None, urgent=True))
    assert urgent["message"].startswith("if you are in danger now, call 112")
    assert urgent["next_opening"] is None
    assert json.loads(frames.served()) == {"type": "served"}
    limited = json.loads(frames.too_many_joins(42, policy))
    assert (limited["code"], limited["retry_after"], limited["emergency"]) == (
        "too_many_joins",
        42,
        "112",
    )
    assert "112" in limited["message"]
    assert limited["helplines"] == frame["helplines"]
