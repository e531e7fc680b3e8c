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
