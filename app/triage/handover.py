"""Who holds a conversation: seating a ticket with a counsellor, warm and cold transfers, and
handing back chats a counsellor left unanswered (DESIGN.md §3.6, ``transfers.py``'s decisions).

Every change of holder starts a new key segment sealed to the new counsellor's duty device, so
the previous counsellor cannot read what follows (CRYPTO.md §5). Services never commit; callers
hold the matching lock (``lock_matching``) so capacity and offers are decided on one snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import repository as chat_repo
from app.chat import segments
from app.kit.errors import DomainError
from app.kit.ids import new_id
from app.models import Conversation, Staff, Ticket
from app.triage import engine, transfers
from app.triage import repository as repo
from app.types import ConversationId, QueueKind, StaffId

#: How long a warm offer waits for the colleague's answer.
OFFER_SECONDS: Final = transfers.DEFAULT_OFFER_TIMEOUT


class TransferRefused(DomainError):
    status = 409
    code = "transfer_refused"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


#: What happened to a conversation's holder (``Change.kind``).
ChangeKind = Literal["offered", "handed_over", "requeued", "returned"]


@dataclass(frozen=True, slots=True)
class Seated:
    conv_id: ConversationId
    seg: int
    staff_id: StaffId
    alias: str


@dataclass(frozen=True, slots=True)
class Change:
    """What happened to a conversation, for the caller to announce after commit."""

    kind: ChangeKind
    conv_id: ConversationId
    ticket_id: int
    from_id: str
    to_id: str | None = None
    to_alias: str | None = None
    from_alias: str | None = None
    reason: str | None = None
    expires_at: float | None = None
    kind_of_queue: QueueKind = "youth"
    language: str = "sv"
    urgent: bool = False


async def _staff(session: AsyncSession, staff_id: str) -> Staff:
    staff = await repo.staff_member(session, staff_id)
    assert staff is not None  # noqa: S101 - a foreign key / an on-duty snapshot
    return staff


async def seat(session: AsyncSession, *, ticket_id: int, staff_id: str, now: float) -> Seated:
    """Give a waiting ticket to a counsellor: a new conversation, or the ticket's requeued one.

    The new holder's segment is sealed to their duty device.
    """
    staff = await _staff(session, staff_id)
    if staff.duty_device_id is None:
        raise RuntimeError("a counsellor on duty without a device")
    await repo.mark_assigned(session, ticket_id, now)
    conv = await repo.conversation_of_ticket(session, ticket_id)
    if conv is None:
        conv = await chat_repo.add_conversation(
            session,
            conv_id=ConversationId(new_id()),
            ticket_id=ticket_id,
            staff_id=staff_id,
            now=now,
        )
        seg = 0
    else:
        repo.reopen(conv, staff_id)
        seg = await segments.next_segment(session, conv.id)
    await segments.open_segment(
        session, conv_id=conv.id, seg=seg, device_id=staff.duty_device_id, now=now
    )
    return Seated(conv_id=conv.id, seg=seg, staff_id=staff.id, alias=staff.alias)


async def _held(session: AsyncSession, conv_id: str, staff_id: str) -> tuple[Conversation, Ticket]:
    conv = await chat_repo.conversation_row(session, conv_id)
    if conv is None or conv.staff_id != staff_id or conv.status != "open":
        raise TransferRefused("not_yours", "you do not hold this conversation")
    ticket = await repo.ticket_by_id(session, conv.ticket_id)
    assert ticket is not None  # noqa: S101 - a foreign key
    return conv, ticket


def _change(
    kind: ChangeKind,
    conv: Conversation,
    ticket: Ticket,
    from_id: str,
    *,
    to_id: str | None = None,
    to_alias: str | None = None,
    reason: str | None = None,
    expires_at: float | None = None,
    from_alias: str | None = None,
) -> Change:
    return Change(
        kind=kind,
        conv_id=conv.id,
        ticket_id=ticket.id,
        from_id=from_id,
        to_id=to_id,
        to_alias=to_alias,
        reason=reason,
        expires_at=expires_at,
        from_alias=from_alias,
        kind_of_queue=ticket.kind,
        language=ticket.language,
        urgent=ticket.urgent,
    )


async def _hand_over(
    session: AsyncSession, conv: Conversation, ticket: Ticket, to_id: str, now: float
) -> Change:
    from_id = conv.staff_id
    to = await _staff(session, to_id)
    if to.duty_device_id is None:
        raise TransferRefused("target_not_on_duty", "that colleague has no console on duty")
    repo.hand_to(conv, to_id)
    seg = await segments.next_segment(session, conv.id)
    await segments.open_segment(
        session, conv_id=conv.id, seg=seg, device_id=to.duty_device_id, now=now
    )
    return _change("handed_over", conv, ticket, from_id, to_id=to_id, to_alias=to.alias)


def _requeue(conv: Conversation, ticket: Ticket, queued: engine.WaitingTicket) -> None:
    """The ticket waits again with its priority and first join time; the conversation is kept
    (its transcript and segments) for whoever takes it next."""
    repo.requeue(conv, ticket, queued.queue)


async def request(
    session: AsyncSession,
    *,
    conv_id: str,
    staff_id: str,
    target: transfers.Target,
    mode: transfers.Mode,
    now: float,
    confirm: bool = False,
) -> Change:
    """A counsellor asks to transfer a conversation they hold; raises ``TransferRefused``
    (``nobody_can_serve``: cold to a queue nobody else on duty serves, without ``confirm``)."""
    conv, ticket = await _held(session, conv_id, staff_id)
    if conv.offer_to is not None:
        raise TransferRefused("offer_pending", "a transfer of this conversation is pending")
    counsellors = await repo.on_duty_counsellors(session)
    chat = transfers.ActiveChat(repo.waiting_ticket(ticket), staff_id)
    decision = transfers.request(
        chat, target, mode, counsellors, now=now, offer_timeout=OFFER_SECONDS, confirm=confirm
    )
    match decision:
        case transfers.Refused(reason=reason):
            raise TransferRefused(str(reason), f"the transfer is not possible: {reason}")
        case transfers.Offer(to_id=to_id, expires_at=expires_at, queue=queue):
            repo.offer(
                conv,
                to_id=to_id,
                expires_at=expires_at,
                skill=None if queue is None else queue.skill,
            )
            to = await _staff(session, to_id)
            sender = await _staff(session, staff_id)
            return _change(
                "offered",
                conv,
                ticket,
                staff_id,
                to_id=to_id,
                to_alias=to.alias,
                expires_at=expires_at,
                from_alias=sender.alias,
            )
        case transfers.Handover(to_id=to_id):
            return await _hand_over(session, conv, ticket, to_id, now)
        case transfers.Requeued(ticket=queued):
            _requeue(conv, ticket, queued)
            return _change("requeued", conv, ticket, staff_id, reason="transfer")
    raise AssertionError(decision)  # pragma: no cover - the match is exhaustive


async def queue_served(
    session: AsyncSession, *, conv_id: str, staff_id: str, queue: engine.QueueKey
) -> bool:
    """Whether anyone on duty but the holder can serve the holder's conversation in ``queue``
    (``transfers.served_elsewhere``); raises ``TransferRefused("not_yours")``."""
    _, ticket = await _held(session, conv_id, staff_id)
    chat = transfers.ActiveChat(repo.waiting_ticket(ticket), staff_id)
    return transfers.served_elsewhere(chat, queue, await repo.on_duty_counsellors(session))


async def answer(
    session: AsyncSession, *, conv_id: str, staff_id: str, accept: bool, now: float
) -> Change:
    """The colleague a warm transfer was offered to accepts or declines it."""
    conv = await chat_repo.conversation_row(session, conv_id)
    if conv is None or conv.offer_to != staff_id or conv.status != "open":
        raise TransferRefused("no_offer", "there is no open offer of this conversation to you")
    ticket = await repo.ticket_by_id(session, conv.ticket_id)
    assert ticket is not None  # noqa: S101 - a foreign key
    holder = conv.staff_id
    if not accept:
        repo.clear_offer(conv)
        return _change("returned", conv, ticket, holder, to_id=staff_id, reason="declined")
    counsellors = await repo.on_duty_counsellors(session)
    queue = None if conv.offer_skill is None else engine.QueueKey(ticket.kind, conv.offer_skill)
    offer = transfers.Offer(
        chat=transfers.ActiveChat(repo.waiting_ticket(ticket), holder),
        to_id=staff_id,
        offered_at=now,
        expires_at=conv.offer_expires_at or now,
        queue=queue,
    )
    decision = transfers.accept(offer, counsellors)
    if isinstance(decision, transfers.Returned):
        repo.clear_offer(conv)
        return _change("returned", conv, ticket, holder, to_id=staff_id, reason=decision.reason)
    repo.move_ticket(ticket, decision.chat.ticket.queue)
    return await _hand_over(session, conv, ticket, staff_id, now)


async def expire_offers(session: AsyncSession, now: float) -> list[Change]:
    """Warm offers past their deadline return to their sender."""
    changes = []
    for conv in await repo.expired_offers(session, now):
        ticket = await repo.ticket_by_id(session, conv.ticket_id)
        assert ticket is not None  # noqa: S101 - a foreign key
        to_id = conv.offer_to
        repo.clear_offer(conv)
        changes.append(
            _change("returned", conv, ticket, conv.staff_id, to_id=to_id, reason="expired")
        )
    return changes


@dataclass(frozen=True, slots=True)
class Unaccepted:
    """``requeue_unaccepted``'s result: the changes to announce, and the counsellors whose duty
    device was sealed a segment key and did not accept it (the caller takes them off duty)."""

    changes: list[Change]
    silent_devices: set[str]


async def requeue_unaccepted(session: AsyncSession, *, before: float) -> Unaccepted:
    """Chats whose current segment, opened before ``before``, the counsellor's device has not
    accepted go back to the front of their queue (priority and first join time kept), so the
    young person is not left waiting for a device that does not answer (PROTOCOL.md §6.3).

    A counsellor whose duty device is still the one that got the key and did not accept it is
    named in ``silent_devices``; one whose chat never got its key (the young person's client
    did not seal it) is not. The caller holds the matching lock, takes those counsellors off
    duty, and announces the changes after commit.
    """
    changes: list[Change] = []
    silent: set[str] = set()
    for conv, segment in await repo.unaccepted(session, before):
        ticket = await repo.ticket_by_id(session, conv.ticket_id)
        assert ticket is not None  # noqa: S101 - a foreign key
        holder = await _staff(session, conv.staff_id)
        if segment.wrap_c is not None and holder.duty_device_id == segment.device_id:
            silent.add(holder.id)
        _requeue(conv, ticket, repo.waiting_ticket(ticket))
        changes.append(_change("requeued", conv, ticket, holder.id, reason="unaccepted"))
    await session.flush()
    return Unaccepted(changes, silent)


async def release(session: AsyncSession, staff_id: str) -> list[Change]:
    """A counsellor's shift ended without them (logout confirmed, session limit, disabled,
    consoles silent): every chat they hold goes back to the front of its queue (first join time
    and priority kept), so nobody writes into the void; offers made to them return to their
    senders. ``reason`` is ``unanswered`` for a chat they had not answered in their current run
    of segments, ``shift_ended`` for one they had. The caller announces the changes."""
    changes = []
    for conv in await repo.held_conversations(session, staff_id):
        since = await segments.holder_since(session, conv.id, staff_id)
        answered = await repo.counsellor_wrote_since(session, conv.id, since)
        ticket = await repo.ticket_by_id(session, conv.ticket_id)
        assert ticket is not None  # noqa: S101 - a foreign key
        _requeue(conv, ticket, repo.waiting_ticket(ticket))
        reason = "shift_ended" if answered else "unanswered"
        changes.append(_change("requeued", conv, ticket, staff_id, reason=reason))
    for conv in await repo.conversations_offered_to(session, staff_id):
        ticket = await repo.ticket_by_id(session, conv.ticket_id)
        assert ticket is not None  # noqa: S101 - a foreign key
        repo.clear_offer(conv)
        changes.append(
            _change("returned", conv, ticket, conv.staff_id, to_id=staff_id, reason="target_gone")
        )
    await session.flush()
    return changes
