"""Queue orchestration: joining, resuming, leaving, and matching under the matching lock."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import repository as chat_repo
from app.chat.protocol import Triage
from app.db import lock_matching
from app.kit.errors import Conflict, NotFound
from app.kit.ids import new_id
from app.models import Ticket
from app.staff import repository as staff_repo
from app.triage import engine
from app.triage import repository as repo


class QueueFull(Conflict):
    code = "queue_full"


@dataclass(frozen=True, slots=True)
class Paired:
    ticket_id: int
    conv_id: str
    staff_id: str
    alias: str
    kind: str
    language: str
    urgent: bool


@dataclass(frozen=True, slots=True)
class TicketState:
    ticket_id: int
    status: str  # waiting | assigned | left | ended
    kind: str
    conversation: chat_repo.ConversationInfo | None


async def join(
    session: AsyncSession, triage: Triage, *, token_digest: str, queue_cap: int, now: float
) -> Ticket:
    """Put a new ticket in the queue. Raises ``QueueFull`` at the configured cap.

    After commit the caller must request matching and announce the queue change.
    """
    if await repo.count_waiting(session) >= queue_cap:
        raise QueueFull("the queue is full right now")
    return await repo.add_ticket(
        session,
        token_digest=token_digest,
        kind=triage.kind,
        language=triage.language,
        urgent=triage.danger_now,
        now=now,
    )


async def resume(session: AsyncSession, token_digest: str) -> TicketState:
    """The state of a ticket a client presents again; raises ``NotFound`` for unknown tokens."""
    ticket = await repo.ticket_by_digest(session, token_digest)
    if ticket is None:
        raise NotFound("no such ticket")
    conv = await repo.conversation_of_ticket(session, ticket.id)
    info = None if conv is None else await chat_repo.conversation(session, conv.id)
    return TicketState(ticket.id, ticket.status, ticket.kind, info)


async def set_presence(session: AsyncSession, ticket_id: int, *, present: bool, now: float) -> None:
    await repo.set_presence(session, ticket_id, None if present else now)


async def leave(session: AsyncSession, ticket_id: int, now: float) -> bool:
    """A waiting young person leaves the queue; False if the ticket was no longer waiting."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None or ticket.status != "waiting":
        return False
    return await repo.end_ticket(session, ticket_id, "left", now)


async def abandon_disconnected(session: AsyncSession, *, grace: float, now: float) -> int:
    """Waiting tickets whose socket has been gone longer than ``grace`` count as left."""
    return await repo.abandon_disconnected(session, now - grace, now)


async def match(session: AsyncSession, now: float) -> list[Paired]:
    """Assign waiting tickets to counsellors with free capacity, under the matching lock.

    Must run in its own transaction; after commit the caller must notify both sides of each
    pairing and announce the queue change.
    """
    await lock_matching(session)
    counsellors = await repo.on_duty_counsellors(session)
    if not any(c.load < c.capacity for c in counsellors):
        return []
    tickets = await repo.waiting_tickets(session, present_only=True)
    decided = engine.assign(tickets, counsellors)
    by_id = {t.id: t for t in tickets}
    paired = []
    for assignment in decided:
        ticket = by_id[assignment.ticket_id]
        conv_id = new_id()
        await repo.mark_assigned(session, ticket.id, now)
        await chat_repo.add_conversation(
            session,
            conv_id=conv_id,
            ticket_id=ticket.id,
            staff_id=assignment.counsellor_id,
            now=now,
        )
        staff = await staff_repo.by_id(session, assignment.counsellor_id)
        assert staff is not None  # noqa: S101 - loaded under the same lock a moment ago
        paired.append(
            Paired(
                ticket_id=ticket.id,
                conv_id=conv_id,
                staff_id=staff.id,
                alias=staff.alias,
                kind=ticket.kind,
                language=ticket.language,
                urgent=ticket.priority == engine.Priority.URGENT,
            )
        )
    return paired
