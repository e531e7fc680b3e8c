"""Queue orchestration: joining, resuming, leaving, and matching under the matching lock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, cast

from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import repository as chat_repo
from app.db import lock_matching
from app.kit.errors import Conflict, DomainError, NotFound
from app.models import Ticket
from app.triage import engine, handover, hours, prefix, questions
from app.triage import repository as repo
from app.triage.questions import Triage
from app.triage.setup import TriageSetup
from app.types import (
    ConversationId,
    ConversationStatus,
    QueueKind,
    SenderRole,
    TicketId,
    TicketStatus,
)


class BadTriage(DomainError):
    """The answers do not fit the configured question set (``bad_triage``)."""

    status = 422
    code = "bad_triage"


class EntryRefused(Conflict):
    """Closed, no one on duty, or the queue is full: ``decision`` says which and what else helps."""

    def __init__(self, decision: hours.EntryDecision) -> None:
        super().__init__(ENTRY_MESSAGES[decision.status])
        self.decision = decision
        self.code = decision.status.value


#: Tickets read per queue for matching; all of them only when these do not decide (prefix.py).
HEADS_PER_QUEUE: Final = 50

ENTRY_MESSAGES: Final = {
    hours.Entry.CLOSED: "the chat is closed right now",
    hours.Entry.NO_ONE_ON_DUTY: "no counsellor is on duty right now",
    hours.Entry.QUEUE_FULL: "the queue is full right now",
    hours.Entry.OPEN: "",
}


@dataclass(frozen=True, slots=True)
class Paired:
    ticket_id: int
    conv_id: ConversationId
    staff_id: str
    alias: str
    kind: str
    language: str
    urgent: bool
    #: The queue it was paired from (``youth``, ``youth/police`` …), for the metrics.
    queue: str
    #: When the ticket joined, and since when its counsellor had a seat free (duty start or the
    #: end of a chat): the later of the two is when this pairing became possible.
    joined_at: float
    free_since: float
    #: A new conversation (not a requeued one taken over by another counsellor).
    first: bool


@dataclass(frozen=True, slots=True)
class TicketState:
    ticket_id: TicketId
    status: TicketStatus
    kind: QueueKind
    conversation: chat_repo.ConversationInfo | None
    urgent: bool = False


async def join(
    session: AsyncSession,
    triage: Triage,
    *,
    setup: TriageSetup,
    token_digest: str,
    now: float,
    youth_sig_key: str | None = None,
) -> Ticket:
    """Put a new ticket in its queue, if the entry decision (``hours.entry_decision``) allows.
    ``youth_sig_key`` is the page's public signing key (PROTOCOL.md §6.7): stored now, before
    any pairing, and never written again.

    Raises ``BadTriage`` when the answers do not fit the question set, ``EntryRefused`` when
    the house is closed, no one is on duty (if ``setup.refuse_when_unstaffed``) or the queue
    is at its cap. After commit the caller must request matching and announce the queue change.
    """
    try:
        skill = questions.check_answers(setup.questions, triage)
    except questions.BadAnswer as exc:
        raise BadTriage(str(exc)) from None
    on_duty = await repo.count_on_duty(session) if setup.refuse_when_unstaffed else 1
    decision = hours.entry_decision(
        setup.schedule,
        datetime.fromtimestamp(now, UTC),
        on_duty=on_duty,
        waiting=await repo.count_waiting(session),
        policy=setup.policy,
        danger_now=triage.danger_now,
    )
    if not decision.may_queue:
        raise EntryRefused(decision)
    return await repo.add_ticket(
        session,
        token_digest=token_digest,
        kind=triage.kind,
        language=triage.language,
        urgent=triage.danger_now,
        now=now,
        topic=triage.topic,
        age_band=triage.age_band,
        skill=skill,
        youth_sig_key=youth_sig_key,
    )


async def resume(session: AsyncSession, token_digest: str) -> TicketState:
    """The state of a ticket a client presents again; raises ``NotFound`` for unknown tokens."""
    ticket = await repo.ticket_by_digest(session, token_digest)
    if ticket is None:
        raise NotFound("no such ticket")
    conv = await repo.conversation_of_ticket(session, ticket.id)
    info = None if conv is None else await chat_repo.conversation(session, conv.id)
    return TicketState(ticket.id, ticket.status, ticket.kind, info, ticket.urgent)


async def set_presence(session: AsyncSession, ticket_id: int, *, present: bool, now: float) -> None:
    await repo.set_presence(session, ticket_id, None if present else now)


async def leave(session: AsyncSession, ticket_id: int, now: float) -> bool:
    """A waiting young person leaves the queue; False if the ticket was no longer waiting."""
    ticket = await repo.ticket_by_id(session, ticket_id)
    if ticket is None or ticket.status != "waiting":
        return False
    return await repo.end_ticket(session, ticket_id, "left", now)


async def abandon_disconnected(session: AsyncSession, *, grace: float, now: float) -> int:
    """Waiting tickets whose socket has been gone longer than ``grace`` count as left (and a
    conversation they were requeued from is closed)."""
    gone = await repo.abandon_disconnected(session, now - grace, now)
    if gone:
        await chat_repo.close_abandoned_requeued(session, now)
    return gone


async def match(session: AsyncSession, now: float) -> list[Paired]:
    """Assign waiting tickets to counsellors with free capacity, under the matching lock.

    Must run in its own transaction; after commit the caller must notify both sides of each
    pairing and announce the queue change. Reads only the heads of the queues when they decide
    the result (``prefix.decides``), all waiting tickets otherwise: the result is the same.
    """
    await lock_matching(session)
    counsellors = await repo.on_duty_counsellors(session)
    if not any(c.load < c.capacity for c in counsellors):
        return []
    tickets, truncated = await repo.queue_heads(session, HEADS_PER_QUEUE)
    decided = engine.assign(tickets, counsellors)
    if not prefix.decides(tickets, counsellors, decided, truncated):
        tickets = await repo.waiting_tickets(session, present_only=True)
        decided = engine.assign(tickets, counsellors)
    by_id = {t.id: t for t in tickets}
    free_since = {c.id: c.idle_since for c in counsellors}
    paired = []
    for assignment in decided:
        ticket = by_id[assignment.ticket_id]
        # A new conversation, or the ticket's requeued one; either way a new key segment sealed
        # to the counsellor's duty device (CRYPTO.md §3, §5).
        seated = await handover.seat(
            session, ticket_id=ticket.id, staff_id=assignment.counsellor_id, now=now
        )
        paired.append(
            Paired(
                ticket_id=ticket.id,
                conv_id=seated.conv_id,
                staff_id=seated.staff_id,
                alias=seated.alias,
                kind=ticket.kind,
                language=ticket.language,
                urgent=ticket.priority == engine.Priority.URGENT,
                queue=str(ticket.queue),
                joined_at=ticket.joined_at,
                free_since=free_since[assignment.counsellor_id],
                first=seated.seg == 0,
            )
        )
    return paired


@dataclass(frozen=True, slots=True)
class Closed:
    """A conversation was closed; a warm transfer offered to ``offer_to`` ended with it."""

    offer_to: str | None


async def abandon_gone_chats(
    session: AsyncSession, *, grace: float, now: float
) -> list[tuple[ConversationId, Closed]]:
    """Open chats whose young person has been gone (tab closed, phone locked) longer than
    ``grace`` end as ``abandoned``: the ticket ends and the counsellor's seat is free.

    After commit the caller must publish each close (``announce.publish_closed`` with reason
    ``abandoned``) and request matching.
    """
    ended = []
    for conv_id in await repo.gone_chats(session, now - grace):
        closed = await close(session, conv_id, by="Y", now=now, status="abandoned")
        if closed is not None:
            ended.append((ConversationId(conv_id), closed))
    return ended


async def close(
    session: AsyncSession,
    conv_id: str,
    *,
    by: str,
    now: float,
    status: ConversationStatus = "closed",
) -> Closed | None:
    """Close an open (or requeued) conversation and end its ticket; None if already closed.

    ``by`` is a ``SenderRole`` (``Y`` | ``C``); it is typed ``str`` while the relay's sockets
    carry their role as ``str`` (``relay.handlers.SocketHandler.role``).

    After commit the caller must publish the close (``announce.publish_closed``, which also
    withdraws a pending offer) and request matching (the counsellor has capacity again).
    """
    conv = await chat_repo.conversation_row(session, conv_id)
    if conv is None:
        return None
    ticket_id, staff_id, offer_to = conv.ticket_id, conv.staff_id, conv.offer_to
    role = cast("SenderRole", by)
    if not await chat_repo.close_conversation(session, conv_id, role, now, status=status):
        return None
    await repo.end_ticket(session, ticket_id, "ended", now)
    await repo.touch_idle(session, staff_id, now)
    return Closed(offer_to=offer_to)
