"""The queue at a glance (issue 11 §1), pure: rows per queue and language, and which of them
a counsellor can serve by the routing engine's own rules."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.supervision.glance import Profile, glance, rows
from app.triage import engine
from app.triage.engine import OnDutyCounsellor, Priority, WaitingTicket

NOW = 10_000.0


def ticket(
    id: int,
    language: str = "sv",
    *,
    kind: str = "youth",
    skill: str | None = None,
    urgent: bool = False,
    joined: float = NOW - 60,
    organisation: str | None = None,
) -> WaitingTicket:
    priority = Priority.URGENT if urgent else Priority.NORMAL
    return WaitingTicket(id, kind, language, priority, joined, skill, organisation)


SARA = Profile(frozenset({"sv", "en"}), frozenset({"youth"}), "municipality", on_duty=True)


def test_rows_group_by_queue_and_language_with_counts_and_waits() -> None:
    tickets = [
        ticket(1, "sv", joined=NOW - 300),
        ticket(2, "sv", urgent=True, joined=NOW - 30),
        ticket(3, "ar", joined=NOW - 90),
        ticket(4, "sv", kind="professional", joined=NOW - 10),
        ticket(5, "sv", skill="police", joined=NOW - 500),
    ]
    found = rows(tickets, [], SARA)
    assert [(r.queue, r.language, r.waiting, r.urgent) for r in found] == [
        ("professional", "sv", 1, 0),
        ("youth", "ar", 1, 0),
        ("youth", "sv", 2, 1),
        ("youth/police", "sv", 1, 0),
    ]
    body = glance(found, SARA, now=NOW, is_open=True)
    youth_sv = body["rows"][2]
    assert youth_sv["longest_wait_seconds"] == 300
    assert youth_sv["oldest_joined_at"] == round(NOW - 300)
    assert body["total"] == {
        "waiting": 5,
        "urgent": 1,
        "yours": 2,
        "longest_wait_seconds": 500,
        "yours_longest_wait_seconds": 300,
    }
    assert body["on_duty"] is True
    assert body["open"] is True


def test_what_a_counsellor_can_serve_follows_skills_languages_and_organisation() -> None:
    tickets = [
        ticket(1, "sv"),  # Sara: yes
        ticket(2, "ar"),  # not her language
        ticket(3, "sv", kind="professional"),  # not her queue kind
        ticket(4, "sv", skill="police"),  # not her skill
        ticket(5, "en", organisation="police"),  # not her organisation
        ticket(6, "en", organisation="municipality"),  # hers
    ]
    by_key = {(r.queue, r.language): r for r in rows(tickets, [], SARA)}
    assert by_key["youth", "sv"].yours == 1
    assert by_key["youth", "ar"].yours == 0
    assert by_key["professional", "sv"].yours == 0
    assert by_key["youth/police", "sv"].yours == 0
    assert by_key["youth", "en"].yours == 1  # of two tickets: only the municipality one
    officer = Profile(frozenset({"sv"}), frozenset({"youth", "police"}), "police")
    by_key = {(r.queue, r.language): r for r in rows(tickets, [], officer)}
    assert by_key["youth/police", "sv"].yours == 1
    assert by_key["youth", "sv"].yours == 1


def test_an_unknown_account_serves_nothing_and_off_duty_is_said() -> None:
    found = rows([ticket(1)], [], None)
    assert found[0].yours == 0
    body = glance(found, None, now=NOW, is_open=False)
    assert body["on_duty"] is False
    assert body["open"] is False
    assert body["rows"][0]["can_serve"] is False
    off = Profile(SARA.languages, SARA.skills, SARA.organisation, on_duty=False)
    assert glance(rows([ticket(1)], [], off), off, now=NOW, is_open=True)["on_duty"] is False


def test_unservable_counts_tickets_nobody_on_duty_can_take() -> None:
    on_duty = [OnDutyCounsellor("a", frozenset({"sv"}), frozenset({"youth"}))]
    found = rows([ticket(1, "sv"), ticket(2, "ar"), ticket(3, "ar")], on_duty, SARA)
    assert {(r.language, r.unservable) for r in found} == {("sv", 0), ("ar", 2)}


def test_nothing_waiting_gives_no_rows_and_zero_waits() -> None:
    body = glance(rows([], [], SARA), SARA, now=NOW, is_open=True)
    assert body["rows"] == []
    assert body["total"]["longest_wait_seconds"] == 0
    assert body["total"]["yours_longest_wait_seconds"] == 0


def test_no_ticket_id_or_anything_else_leaves_in_a_row() -> None:
    body = glance(rows([ticket(987654)], [], SARA), SARA, now=NOW, is_open=True)
    assert "987654" not in str(body)


languages = st.sampled_from(["sv", "en", "ar"])
tickets_strategy = st.lists(
    st.builds(
        ticket,
        st.integers(1, 10_000),
        languages,
        kind=st.sampled_from(["youth", "professional"]),
        skill=st.sampled_from([None, "police"]),
        urgent=st.booleans(),
        joined=st.floats(NOW - 5000, NOW),
        organisation=st.sampled_from([None, "police", "municipality"]),
    ),
    max_size=30,
)
profiles = st.builds(
    Profile,
    st.frozensets(languages),
    st.frozensets(st.sampled_from(["youth", "professional", "police"])),
    st.sampled_from(["police", "municipality"]),
)


@given(tickets_strategy, profiles)
def test_yours_is_exactly_what_the_engine_would_route(
    tickets: list[WaitingTicket], profile: Profile
) -> None:
    found = rows(tickets, [], profile)
    assert sum(r.waiting for r in found) == len(tickets)
    me = profile.as_counsellor()
    assert sum(r.yours for r in found) == sum(engine.can_serve(me, t) for t in tickets)
    for r in found:
        assert 0 <= r.urgent <= r.waiting
        assert 0 <= r.yours <= r.waiting
