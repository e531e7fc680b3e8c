"""The queue and routing engine, pure and exhaustively property-tested (DESIGN.md §4)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from app.triage.engine import (
    Assignment,
    OnDutyCounsellor,
    Priority,
    QueueKey,
    Routing,
    WaitingTicket,
    assign,
    can_be_served,
    can_serve,
    dispatch_order,
    effective_join,
    positions,
    queue_order,
    requeue,
)

KINDS = ["youth", "professional"]
SKILLS = [None, "police", "health"]
ORGANISATIONS = ["municipality", "health care", "police"]
LANGUAGES = ["sv", "en", "ar"]
ROUTING = Routing(urgent_head_start=5.0)  # small, so that aging decides often in examples


def _tickets(
    rows: list[tuple[int, str, str, Priority, int, str | None, str | None]],
) -> list[WaitingTicket]:
    return [
        WaitingTicket(*row[:4], joined_at=float(row[4]), skill=row[5], organisation=row[6])
        for row in rows
    ]


#: Waiting tickets with unique ids; few distinct join times, so that ties are common.
tickets = st.lists(
    st.tuples(
        st.integers(1, 10_000),
        st.sampled_from(KINDS),
        st.sampled_from(LANGUAGES),
        st.sampled_from(list(Priority)),
        st.integers(0, 20),
        st.sampled_from(SKILLS),
        st.sampled_from([None, None, None, *ORGANISATIONS]),
    ),
    unique_by=lambda row: row[0],
    max_size=25,
).map(_tickets)


def _counsellors(
    rows: list[tuple[frozenset[str], frozenset[str], int, int, int, str]],
) -> list[OnDutyCounsellor]:
    return [
        # load may exceed capacity (capacity lowered while chats were open)
        OnDutyCounsellor(
            f"c{i}", languages, skills, capacity, min(load, capacity + 1), idle, organisation
        )
        for i, (languages, skills, capacity, load, idle, organisation) in enumerate(rows)
    ]


counsellors = st.lists(
    st.tuples(
        st.frozensets(st.sampled_from(LANGUAGES), min_size=1),
        st.frozensets(st.sampled_from([*KINDS, "police", "health"]), min_size=1),
        st.integers(1, 3),
        st.integers(0, 4),
        st.integers(0, 5),
        st.sampled_from(ORGANISATIONS),
    ),
    max_size=6,
).map(_counsellors)


def _loads_after(staff: list[OnDutyCounsellor], assignments: list[Assignment]) -> dict[str, int]:
    load = {c.id: c.load for c in staff}
    for a in assignments:
        load[a.counsellor_id] += 1
    return load


@settings(max_examples=300)
@given(tickets, counsellors)
def test_assign_invariants(waiting: list[WaitingTicket], staff: list[OnDutyCounsellor]) -> None:
    result = assign(waiting, staff, routing=ROUTING)
    by_ticket = {t.id: t for t in waiting}
    by_staff = {c.id: c for c in staff}

    # Each ticket at most once, and only tickets and counsellors that exist.
    assigned_ids = [a.ticket_id for a in result]
    assert len(assigned_ids) == len(set(assigned_ids))
    assert set(assigned_ids) <= set(by_ticket)
    assert {a.counsellor_id for a in result} <= set(by_staff)
    # Only to someone who speaks the language and serves the queue.
    for a in result:
        assert can_serve(by_staff[a.counsellor_id], by_ticket[a.ticket_id])

    # No counsellor over capacity (one already over gets nothing more).
    load = _loads_after(staff, result)
    for c in staff:
        gained = load[c.id] - c.load
        assert load[c.id] <= c.capacity or gained == 0

    # No eligible ticket left waiting while an eligible counsellor has capacity.
    left = [t for t in waiting if t.id not in set(assigned_ids)]
    for t in left:
        for c in staff:
            assert not (can_serve(c, t) and load[c.id] < c.capacity), (t, c)

    # Nobody is passed over for a ticket later in dispatch order that the same counsellor took;
    # in particular an urgent ticket never waits while a normal one of its own queue is served by
    # someone who could serve it.
    rank = {t.id: i for i, t in enumerate(dispatch_order(waiting, ROUTING))}
    for a in result:
        taken = by_ticket[a.ticket_id]
        for t in left:
            if can_serve(by_staff[a.counsellor_id], t):
                assert rank[taken.id] < rank[t.id], (taken, t)
                if t.queue == taken.queue:
                    assert queue_order(taken) < queue_order(t), (taken, t)
                    assert not t.priority > taken.priority
    # Assignments come out in dispatch order.
    assert [rank[a.ticket_id] for a in result] == sorted(rank[a.ticket_id] for a in result)


@given(tickets, counsellors)
def test_assign_is_deterministic_and_ignores_input_order(
    waiting: list[WaitingTicket], staff: list[OnDutyCounsellor]
) -> None:
    result = assign(waiting, staff, routing=ROUTING)
    assert assign(list(reversed(waiting)), list(reversed(staff)), routing=ROUTING) == result
    assert assign(waiting, staff, routing=ROUTING) == result


@given(tickets)
def test_nobody_on_duty_assigns_nothing(waiting: list[WaitingTicket]) -> None:
    assert assign(waiting, []) == []


@settings(max_examples=300)
@given(tickets)
def test_positions_are_a_permutation_per_queue_with_urgent_first(
    waiting: list[WaitingTicket],
) -> None:
    places = positions(waiting)
    assert set(places) == {t.id for t in waiting}
    for key in {t.queue for t in waiting}:
        queue = [t for t in waiting if t.queue == key]
        assert sorted(places[t.id].position for t in queue) == list(range(1, len(queue) + 1))
        assert all(places[t.id].waiting == len(queue) for t in queue)
        for urgent in (t for t in queue if t.priority == Priority.URGENT):
            for normal in (t for t in queue if t.priority == Priority.NORMAL):
                assert places[urgent.id].position < places[normal.id].position
        # Within a priority class, longer wait first.
        for a in queue:
            for b in queue:
                if a.priority == b.priority and a.joined_at < b.joined_at:
                    assert places[a.id].position < places[b.id].position


def test_least_loaded_then_longest_idle_is_chosen() -> None:
    ticket = WaitingTicket(1, "youth", "sv", Priority.NORMAL, 0.0)

    def counsellor(cid: str, load: int, idle_since: float) -> OnDutyCounsellor:
        return OnDutyCounsellor(cid, frozenset({"sv"}), frozenset({"youth"}), 2, load, idle_since)

    assert assign([ticket], [counsellor("a", 1, 0.0), counsellor("b", 0, 9.0)]) == [
        Assignment(1, "b")
    ]
    assert assign([ticket], [counsellor("a", 0, 5.0), counsellor("b", 0, 2.0)]) == [
        Assignment(1, "b")
    ]


@settings(max_examples=300)
@given(tickets)
def test_dispatch_order_merges_queues_by_their_heads(waiting: list[WaitingTicket]) -> None:
    order = dispatch_order(waiting, ROUTING)
    assert sorted(t.id for t in order) == sorted(t.id for t in waiting)
    assert dispatch_order(list(reversed(waiting)), ROUTING) == order
    # Restricted to one queue: queue order, so urgent never behind normal of the same queue.
    for key in {t.queue for t in waiting}:
        lane = [t for t in order if t.queue == key]
        assert lane == sorted(lane, key=queue_order)
    # Each next ticket is the head, among the remaining heads, with the earliest effective join.
    remaining = list(waiting)
    for ticket in order:
        heads = [
            min((t for t in remaining if t.queue == key), key=queue_order)
            for key in {t.queue for t in remaining}
        ]
        assert ticket in heads
        assert all(effective_join(ticket, ROUTING) <= effective_join(h, ROUTING) for h in heads)
        remaining.remove(ticket)


@settings(max_examples=300)
@given(tickets)
def test_a_head_is_overtaken_only_by_tickets_joined_within_the_head_start(
    waiting: list[WaitingTicket],
) -> None:
    """The aging bound: later arrivals can never overtake a ticket at the head of its queue."""
    order = dispatch_order(waiting, ROUTING)
    for key in {t.queue for t in waiting}:
        head = min((t for t in waiting if t.queue == key), key=queue_order)
        for before in order[: order.index(head)]:
            assert before.queue != key
            assert before.joined_at <= head.joined_at + ROUTING.urgent_head_start


@settings(max_examples=100, deadline=None)
@given(
    arrivals=st.lists(st.tuples(st.integers(0, 400), st.sampled_from(list(Priority))), max_size=60),
    busy=st.lists(st.sampled_from(list(Priority)), max_size=60),
    spacing=st.integers(1, 20),
    duration=st.integers(1, 30),
    head_start=st.integers(0, 60),
)
def test_no_starvation_under_aging(
    arrivals: list[tuple[int, Priority]],
    busy: list[Priority],
    spacing: int,
    duration: int,
    head_start: int,
) -> None:
    """One counsellor serves two queues; queue B gets an arbitrary stream of tickets, urgent or
    not (random arrivals, plus a steady stream that alone keeps the counsellor busy when chats
    last longer than the spacing). The normal ticket alone in queue A is served once every B
    ticket that joined within the head start has been served: a bound later arrivals cannot
    extend."""
    routing = Routing(urgent_head_start=float(head_start))
    lone = WaitingTicket(0, "professional", "sv", Priority.NORMAL, 0.0)
    steady = [(i * spacing, priority) for i, priority in enumerate(busy)]
    stream = sorted(
        (
            WaitingTicket(i, "youth", "sv", priority, float(at))
            for i, (at, priority) in enumerate(arrivals + steady, start=1)
        ),
        key=lambda t: t.joined_at,
    )
    counsellor = OnDutyCounsellor("c", frozenset({"sv"}), frozenset(KINDS), capacity=1)
    now, served_before = 0.0, 0
    waiting = [lone]
    pending = list(stream)
    while True:
        waiting += [t for t in pending if t.joined_at <= now]
        pending = [t for t in pending if t.joined_at > now]
        (taken,) = assign(waiting, [counsellor], routing=routing)
        if taken.ticket_id == lone.id:
            break
        served_before += 1
        waiting = [t for t in waiting if t.id != taken.ticket_id]
        now += duration
    assert served_before <= sum(1 for t in stream if t.joined_at <= head_start)


def test_routing_by_skill_organisation_and_language() -> None:
    police = WaitingTicket(1, "youth", "sv", Priority.NORMAL, 0.0, skill="police")
    general = OnDutyCounsellor("g", frozenset({"sv"}), frozenset({"youth"}))
    officer = OnDutyCounsellor(
        "p", frozenset({"sv"}), frozenset({"youth", "police"}), organisation="police"
    )
    assert not can_serve(general, police)
    assert can_serve(officer, police)
    assert assign([police], [general, officer]) == [Assignment(1, "p")]
    needs_health_care = WaitingTicket(
        2, "youth", "sv", Priority.NORMAL, 0.0, organisation="health care"
    )
    assert assign([needs_health_care], [general, officer]) == []
    arabic = WaitingTicket(3, "youth", "ar", Priority.NORMAL, 0.0)
    assert assign([arabic], [general, officer]) == []
    assert general.capacity == 2


def test_urgent_of_another_queue_waits_for_a_normal_ticket_past_the_head_start() -> None:
    routing = Routing(urgent_head_start=600.0)
    old = WaitingTicket(1, "professional", "sv", Priority.NORMAL, 0.0)
    urgent = WaitingTicket(2, "youth", "sv", Priority.URGENT, 700.0)
    fresh_urgent = WaitingTicket(3, "youth", "sv", Priority.URGENT, 500.0)
    counsellor = OnDutyCounsellor("c", frozenset({"sv"}), frozenset(KINDS), capacity=1)
    assert assign([old, urgent], [counsellor], routing=routing) == [Assignment(1, "c")]
    assert assign([old, fresh_urgent], [counsellor], routing=routing) == [Assignment(3, "c")]
    # Within one queue urgent always comes first, whatever the wait.
    same_queue = WaitingTicket(4, "youth", "sv", Priority.NORMAL, 0.0)
    assert assign([same_queue, urgent], [counsellor], routing=routing) == [Assignment(2, "c")]


def test_requeue_keeps_priority_and_first_join() -> None:
    ticket = WaitingTicket(1, "youth", "sv", Priority.URGENT, 3.0)
    moved = requeue(ticket, QueueKey("youth", "health"))
    assert moved.queue == QueueKey("youth", "health")
    assert (moved.priority, moved.joined_at, moved.id) == (Priority.URGENT, 3.0, 1)
    assert requeue(ticket) == ticket


@settings(max_examples=300)
@given(
    st.lists(
        st.builds(
            OnDutyCounsellor,
            id=st.sampled_from(["a", "b", "c"]),
            languages=st.frozensets(st.sampled_from(LANGUAGES)),
            skills=st.frozensets(st.sampled_from([*KINDS, "police", "health"])),
            capacity=st.integers(0, 3),
            load=st.integers(0, 4),
            organisation=st.sampled_from(ORGANISATIONS),
        ),
        max_size=4,
    ),
    st.sampled_from(KINDS),
    st.sampled_from(SKILLS),
    st.sampled_from(LANGUAGES),
    st.sampled_from([None, *ORGANISATIONS]),
)
def test_a_ticket_can_be_served_exactly_when_someone_on_duty_could_ever_take_it(
    counsellors: list[OnDutyCounsellor],
    kind: str,
    skill: str | None,
    language: str,
    organisation: str | None,
) -> None:
    """``can_be_served`` (issue 9 item 5) is the "who can serve" rule: some counsellor with a
    seat at all who serves its kind and skill, speaks its language and (if required) belongs to
    its organisation. Load does not matter (they serve it once a chat ends), capacity 0 does; and
    whenever it is False, ``assign`` never seats the ticket, whatever the load."""
    ticket = WaitingTicket(1, kind, language, Priority.URGENT, 0.0, skill, organisation)
    expected = any(
        c.capacity > 0
        and kind in c.skills
        and (skill is None or skill in c.skills)
        and language in c.languages
        and (organisation is None or organisation == c.organisation)
        for c in counsellors
    )
    assert can_be_served(ticket, counsellors) == expected
    free = [replace(c, load=0) for c in counsellors]
    seated = assign([ticket], free)
    assert bool(seated) == expected
