"""Transfers of a conversation to a colleague or a queue, as pure decisions (DESIGN.md §3.6).

Warm: the conversation is *offered* to one counsellor (named, or chosen from a skill queue by the
routing rules); it stays with the sender until the target accepts. A decline, or an offer left
unanswered past its deadline, returns it to the sender. Cold: the conversation leaves the sender at
once, either straight to a named counsellor or back into a queue, keeping its priority and first
join time (``engine.requeue``).

The shell must: count a pending offer in the target's ``load`` (so capacity holds while it is
open), apply each decision in one transaction, and on ``Handover`` start a new key segment for
the new counsellor (CRYPTO.md). Nothing here reads the clock: ``now`` is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.triage.engine import (
    OnDutyCounsellor,
    QueueKey,
    WaitingTicket,
    can_be_served,
    can_serve,
    choose_counsellor,
    requeue,
)

DEFAULT_OFFER_TIMEOUT = 120.0


class Mode(StrEnum):
    WARM = "warm"
    COLD = "cold"


@dataclass(frozen=True, slots=True)
class ToPerson:
    counsellor_id: str


@dataclass(frozen=True, slots=True)
class ToQueue:
    queue: QueueKey


Target = ToPerson | ToQueue


@dataclass(frozen=True, slots=True)
class ActiveChat:
    """A conversation in progress: its ticket (with first join time) and who holds it."""

    ticket: WaitingTicket
    counsellor_id: str


@dataclass(frozen=True, slots=True)
class Offer:
    """A pending warm transfer; the chat stays with ``from_id`` until accepted."""

    chat: ActiveChat
    to_id: str
    offered_at: float
    expires_at: float
    queue: QueueKey | None = None  # warm to a queue: the ticket moves to it on acceptance


@dataclass(frozen=True, slots=True)
class Handover:
    """The chat now belongs to ``to_id``; ``from_id``'s load drops by one."""

    chat: ActiveChat
    from_id: str
    to_id: str


@dataclass(frozen=True, slots=True)
class Requeued:
    """The chat left ``from_id`` and waits again as ``ticket``."""

    ticket: WaitingTicket
    from_id: str


@dataclass(frozen=True, slots=True)
class Returned:
    """A warm offer ended without acceptance; the chat is (still) with its sender."""

    chat: ActiveChat
    reason: str  # declined | expired | target_gone


class RefusalReason(StrEnum):
    SELF = "self"  # the sender cannot be the target
    TARGET_NOT_ON_DUTY = "target_not_on_duty"
    TARGET_CANNOT_SERVE = "target_cannot_serve"  # language, kind, skill or organisation
    TARGET_FULL = "target_full"
    NO_ONE_AVAILABLE = "no_one_available"  # warm to a queue: nobody eligible with capacity
    NOBODY_CAN_SERVE = "nobody_can_serve"  # cold to a queue nobody else on duty serves, unconfirmed


@dataclass(frozen=True, slots=True)
class Refused:
    """Nothing changes; tell the sender why."""

    reason: RefusalReason


Decision = Offer | Handover | Requeued | Refused


def _retarget(chat: ActiveChat, queue: QueueKey | None) -> WaitingTicket:
    return requeue(chat.ticket, queue)


def request(
    chat: ActiveChat,
    target: Target,
    mode: Mode,
    counsellors: list[OnDutyCounsellor],
    *,
    now: float,
    offer_timeout: float = DEFAULT_OFFER_TIMEOUT,
    confirm: bool = False,
) -> Decision:
    """Decide a transfer the holder of ``chat`` asked for.

    ``counsellors`` is the on-duty snapshot (load including pending offers). Returns:
    ``Offer`` (warm; the caller must later call ``accept``, ``decline`` or ``expire``),
    ``Handover`` (cold to a person), ``Requeued`` (cold to a queue; the caller must then run
    matching) or ``Refused`` (nothing changes). A transfer to a queue re-targets the ticket to that
    queue's kind and skill; warm to a queue offers it to whom ``choose_counsellor`` picks, sender
    excluded. A cold transfer to a queue that nobody on duty but the sender can serve
    (``served_elsewhere``) is refused with ``NOBODY_CAN_SERVE`` unless the sender ``confirm``s
    it: the young person would wait for nobody (and is told so, ``unserved``).
    """
    if isinstance(target, ToQueue):
        ticket = _retarget(chat, target.queue)
        if mode is Mode.COLD:
            if not confirm and not served_elsewhere(chat, target.queue, counsellors):
                return Refused(RefusalReason.NOBODY_CAN_SERVE)
            return Requeued(ticket=ticket, from_id=chat.counsellor_id)
        others = [c for c in counsellors if c.id != chat.counsellor_id]
        chosen = choose_counsellor(ticket, others)
        if chosen is None:
            return Refused(RefusalReason.NO_ONE_AVAILABLE)
        expires_at = now + offer_timeout
        return Offer(chat, chosen.id, offered_at=now, expires_at=expires_at, queue=target.queue)

    if target.counsellor_id == chat.counsellor_id:
        return Refused(RefusalReason.SELF)
    found = [c for c in counsellors if c.id == target.counsellor_id]
    if not found:
        return Refused(RefusalReason.TARGET_NOT_ON_DUTY)
    person = found[0]
    if not can_serve(person, _without_queue_skill(chat.ticket)):
        return Refused(RefusalReason.TARGET_CANNOT_SERVE)
    if person.load >= person.capacity:
        return Refused(RefusalReason.TARGET_FULL)
    if mode is Mode.COLD:
        return Handover(chat=chat, from_id=chat.counsellor_id, to_id=person.id)
    return Offer(chat, person.id, offered_at=now, expires_at=now + offer_timeout)


def served_elsewhere(
    chat: ActiveChat, queue: QueueKey, counsellors: list[OnDutyCounsellor]
) -> bool:
    """Whether anyone on duty other than the chat's holder can serve it in ``queue`` (its
    language and organisation, the queue's kind and skill): what the console shows before a
    transfer, and what a cold transfer to that queue needs unless confirmed."""
    others = [c for c in counsellors if c.id != chat.counsellor_id]
    return can_be_served(_retarget(chat, queue), others)


def _without_queue_skill(ticket: WaitingTicket) -> WaitingTicket:
    # A named colleague needs the language, kind and organisation, not the queue's skill: the
    # sender chose the person on purpose.
    return requeue(ticket, QueueKey(ticket.kind, None))


def accept(offer: Offer, counsellors: list[OnDutyCounsellor]) -> Handover | Returned:
    """The target accepted. If they went off duty meanwhile the chat returns to the sender.

    Capacity was reserved by the offer, so acceptance needs no further capacity check.
    """
    if not any(c.id == offer.to_id for c in counsellors):
        return Returned(offer.chat, "target_gone")
    moved = ActiveChat(_retarget(offer.chat, offer.queue), offer.chat.counsellor_id)
    return Handover(chat=moved, from_id=offer.chat.counsellor_id, to_id=offer.to_id)


def decline(offer: Offer) -> Returned:
    """The target declined: the chat stays with (returns to) the sender."""
    return Returned(offer.chat, "declined")


def expire(offer: Offer, *, now: float) -> Returned | None:
    """``Returned`` once the offer is past its deadline, else ``None`` (still pending)."""
    if now >= offer.expires_at:
        return Returned(offer.chat, "expired")
    return None


def after_handover(handover: Handover) -> ActiveChat:
    """The chat as held after a handover."""
    return ActiveChat(ticket=handover.chat.ticket, counsellor_id=handover.to_id)
