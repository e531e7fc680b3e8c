"""Warm and cold transfers as pure decisions (app/triage/transfers.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.triage.engine import OnDutyCounsellor, Priority, QueueKey, WaitingTicket, can_serve
from app.triage.transfers import (
    ActiveChat,
    Handover,
    Mode,
    Offer,
    RefusalReason,
    Refused,
    Requeued,
    Returned,
    ToPerson,
    ToQueue,
    accept,
    after_handover,
    decline,
    expire,
    request,
    served_elsewhere,
)

TICKET = WaitingTicket(7, "youth", "sv", Priority.URGENT, 100.0)
CHAT = ActiveChat(TICKET, "sender")


def _counsellor(
    cid: str, *, load: int = 0, skills: tuple[str, ...] = ("youth",)
) -> OnDutyCounsellor:
    return OnDutyCounsellor(cid, frozenset({"sv"}), frozenset(skills), capacity=2, load=load)


STAFF = [
    _counsellor("sender", load=1),
    _counsellor("colleague"),
    _counsellor("busy", load=2),
    _counsellor("police", skills=("youth", "police")),
]


def test_cold_to_a_queue_keeps_priority_and_first_join() -> None:
    decision = request(CHAT, ToQueue(QueueKey("youth", "police")), Mode.COLD, STAFF, now=500.0)
    assert isinstance(decision, Requeued)
    assert decision.from_id == "sender"
    assert decision.ticket.queue == QueueKey("youth", "police")
    assert (decision.ticket.priority, decision.ticket.joined_at) == (Priority.URGENT, 100.0)


def test_cold_to_a_person_hands_over_at_once() -> None:
    decision = request(CHAT, ToPerson("colleague"), Mode.COLD, STAFF, now=0.0)
    assert decision == Handover(CHAT, "sender", "colleague")
    assert after_handover(decision) == ActiveChat(TICKET, "colleague")


def test_warm_to_a_person_waits_for_acceptance_and_a_decline_returns_it() -> None:
    offer = request(CHAT, ToPerson("colleague"), Mode.WARM, STAFF, now=10.0, offer_timeout=60.0)
    assert isinstance(offer, Offer)
    assert (offer.to_id, offer.expires_at) == ("colleague", 70.0)
    assert decline(offer) == Returned(CHAT, "declined")
    assert expire(offer, now=69.0) is None
    assert expire(offer, now=70.0) == Returned(CHAT, "expired")
    assert accept(offer, STAFF) == Handover(CHAT, "sender", "colleague")
    gone = [c for c in STAFF if c.id != "colleague"]
    assert accept(offer, gone) == Returned(CHAT, "target_gone")


def test_warm_to_a_skill_queue_offers_to_an_eligible_colleague() -> None:
    queue = QueueKey("youth", "police")
    offer = request(CHAT, ToQueue(queue), Mode.WARM, STAFF, now=0.0)
    assert isinstance(offer, Offer)
    assert offer.to_id == "police"
    handover = accept(offer, STAFF)
    assert isinstance(handover, Handover)
    assert handover.chat.ticket.queue == queue
    assert decline(offer).chat == CHAT  # declined: unchanged, still with the sender
    nobody = request(CHAT, ToQueue(QueueKey("youth", "health")), Mode.WARM, STAFF, now=0.0)
    assert nobody == Refused(RefusalReason.NO_ONE_AVAILABLE)


def test_refusals() -> None:
    assert request(CHAT, ToPerson("sender"), Mode.WARM, STAFF, now=0.0) == Refused(
        RefusalReason.SELF
    )
    assert request(CHAT, ToPerson("nobody"), Mode.COLD, STAFF, now=0.0) == Refused(
        RefusalReason.TARGET_NOT_ON_DUTY
    )
    assert request(CHAT, ToPerson("busy"), Mode.COLD, STAFF, now=0.0) == Refused(
        RefusalReason.TARGET_FULL
    )
    english = OnDutyCounsellor("en", frozenset({"en"}), frozenset({"youth"}))
    assert request(CHAT, ToPerson("en"), Mode.WARM, [english], now=0.0) == Refused(
        RefusalReason.TARGET_CANNOT_SERVE
    )


@settings(max_examples=200)
@given(
    target=st.sampled_from(["sender", "colleague", "busy", "police", "nobody"]),
    mode=st.sampled_from(list(Mode)),
    skill=st.sampled_from([None, "police", "health"]),
    to_queue=st.booleans(),
)
def test_decisions_never_exceed_capacity_or_lose_the_chat(
    target: str, mode: Mode, skill: str | None, to_queue: bool
) -> None:
    where = ToQueue(QueueKey("youth", skill)) if to_queue else ToPerson(target)
    decision = request(CHAT, where, mode, STAFF, now=0.0)
    by_id = {c.id: c for c in STAFF}
    if isinstance(decision, Offer | Handover):
        receiver = by_id[decision.to_id]
        assert receiver.id != "sender"
        assert receiver.load < receiver.capacity
        assert can_serve(receiver, TICKET.__class__(7, "youth", "sv", Priority.URGENT, 100.0))
    if isinstance(decision, Requeued):
        assert mode is Mode.COLD
        assert decision.ticket.id == TICKET.id
        assert decision.ticket.joined_at == TICKET.joined_at
    if isinstance(decision, Offer):
        assert mode is Mode.WARM
        for outcome in (decline(decision), expire(decision, now=decision.expires_at)):
            assert isinstance(outcome, Returned)
            assert outcome.chat.counsellor_id == "sender"


def test_cold_to_a_queue_nobody_else_serves_needs_confirmation() -> None:
    """Issue 9 item 5: nobody on duty serves ``youth/health`` (and for ``youth/police`` only the
    ``police`` counsellor does): a cold transfer there is refused until the sender confirms."""
    health = ToQueue(QueueKey("youth", "health"))
    assert request(CHAT, health, Mode.COLD, STAFF, now=0.0) == Refused(
        RefusalReason.NOBODY_CAN_SERVE
    )
    confirmed = request(CHAT, health, Mode.COLD, STAFF, now=0.0, confirm=True)
    assert isinstance(confirmed, Requeued)
    assert confirmed.ticket.queue == QueueKey("youth", "health")
    police = ToQueue(QueueKey("youth", "police"))
    assert isinstance(request(CHAT, police, Mode.COLD, STAFF, now=0.0), Requeued)
    without_police = [c for c in STAFF if c.id != "police"]
    assert request(CHAT, police, Mode.COLD, without_police, now=0.0) == Refused(
        RefusalReason.NOBODY_CAN_SERVE
    )
    # The sender does not count: they are handing the chat on.
    only_sender = [_counsellor("sender", load=1, skills=("youth", "health"))]
    assert not served_elsewhere(CHAT, QueueKey("youth", "health"), only_sender)
    assert request(CHAT, health, Mode.COLD, only_sender, now=0.0) == Refused(
        RefusalReason.NOBODY_CAN_SERVE
    )


@settings(max_examples=300)
@given(
    skills=st.lists(
        st.sets(st.sampled_from(["youth", "professional", "police", "health"])), max_size=4
    ),
    loads=st.lists(st.integers(0, 3), min_size=4, max_size=4),
    kind=st.sampled_from(["youth", "professional"]),
    skill=st.sampled_from([None, "police", "health"]),
    confirm=st.booleans(),
)
def test_a_cold_transfer_to_a_queue_is_refused_exactly_when_nobody_else_can_serve_it(
    skills: list[set[str]], loads: list[int], kind: str, skill: str | None, confirm: bool
) -> None:
    staff = [
        OnDutyCounsellor(f"c{i}", frozenset({"sv"}), frozenset(s), capacity=2, load=loads[i])
        for i, s in enumerate(skills)
    ]
    queue = QueueKey(kind, skill)
    moved = WaitingTicket(7, kind, "sv", Priority.URGENT, 100.0, skill=skill)
    anyone = any(can_serve(c, moved) for c in staff)  # capacity 2 each: load does not matter
    assert served_elsewhere(CHAT, queue, staff) == anyone
    decision = request(CHAT, ToQueue(queue), Mode.COLD, staff, now=0.0, confirm=confirm)
    if anyone or confirm:
        assert isinstance(decision, Requeued)
    else:
        assert decision == Refused(RefusalReason.NOBODY_CAN_SERVE)
