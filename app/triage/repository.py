"""Every SQL statement of the queue: tickets, the snapshot the engine decides on, and who holds a
conversation (``handover.py``'s reads and writes).

Writes to rows already loaded (``reopen``, ``clear_offer``…) change the row in the session; the
session flushes them before its next query, and the caller's transaction commits them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, cast

from sqlalchemy import Row, func, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Conversation, Envelope, Segment, Staff, Ticket
from app.triage.engine import OnDutyCounsellor, Priority, QueueKey, WaitingTicket
from app.types import QueueKind


def _split(csv: str) -> frozenset[str]:
    return frozenset(part.strip() for part in csv.split(",") if part.strip())


async def count_waiting(session: AsyncSession) -> int:
    query = select(func.count()).select_from(Ticket).where(Ticket.status == "waiting")
    return int((await session.execute(query)).scalar_one())


async def count_on_duty(session: AsyncSession) -> int:
    query = (
        select(func.count())
        .select_from(Staff)
        .where(Staff.on_duty.is_(True), Staff.disabled.is_(False))
    )
    return int((await session.execute(query)).scalar_one())


async def add_ticket(
    session: AsyncSession,
    *,
    token_digest: str,
    kind: QueueKind,
    language: str,
    urgent: bool,
    now: float,
    topic: str | None = None,
    age_band: str | None = None,
    skill: str | None = None,
    youth_sig_key: str | None = None,
) -> Ticket:
    ticket = Ticket(
        token_digest=token_digest,
        kind=kind,
        language=language,
        urgent=urgent,
        status="waiting",
        joined_at=now,
        topic=topic,
        age_band=age_band,
        skill=skill,
        youth_sig_key=youth_sig_key,
    )
    session.add(ticket)
    await session.flush()
    return ticket


async def ticket_by_digest(session: AsyncSession, token_digest: str) -> Ticket | None:
    query = select(Ticket).where(Ticket.token_digest == token_digest)
    return (await session.execute(query)).scalar_one_or_none()


async def conversation_of_ticket(session: AsyncSession, ticket_id: int) -> Conversation | None:
    query = select(Conversation).where(Conversation.ticket_id == ticket_id)
    return (await session.execute(query)).scalar_one_or_none()


async def set_presence(
    session: AsyncSession, ticket_id: int, disconnected_at: float | None
) -> None:
    query = update(Ticket).where(Ticket.id == ticket_id).values(disconnected_at=disconnected_at)
    await session.execute(query)


async def end_ticket(
    session: AsyncSession, ticket_id: int, status: Literal["left", "ended"], now: float
) -> bool:
    """Move a live ticket to ``status`` (left | ended); False if it had already ended."""
    query = (
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.status.in_(("waiting", "assigned")))
        .values(status=status, ended_at=now)
    )
    return bool((await session.execute(query)).rowcount)  # type: ignore[attr-defined]


async def abandon_disconnected(session: AsyncSession, before: float, now: float) -> int:
    query = (
        update(Ticket)
        .where(Ticket.status == "waiting", Ticket.disconnected_at < before)
        .values(status="left", ended_at=now)
    )
    return int((await session.execute(query)).rowcount)  # type: ignore[attr-defined]


async def gone_chats(session: AsyncSession, before: float) -> list[str]:
    """Open conversations whose young person's sockets have all been gone since before
    ``before`` (``Ticket.disconnected_at``, set when the last one closed, cleared on resume)."""
    query = (
        select(Conversation.id)
        .join(Ticket, Ticket.id == Conversation.ticket_id)
        .where(
            Conversation.status == "open",
            Ticket.status == "assigned",
            Ticket.disconnected_at < before,
        )
    )
    return list((await session.execute(query)).scalars())


#: What the engine knows of a ticket, in the order ``as_waiting`` unpacks it.
_WAITING_COLUMNS = (
    Ticket.id,
    Ticket.kind,
    Ticket.language,
    Ticket.urgent,
    Ticket.joined_at,
    Ticket.skill,
    Ticket.organisation,
)
_WaitingRow = tuple[int, str, str, bool, float, str | None, str | None]


def as_waiting(
    rows: Iterable[_WaitingRow | Row[int, str, str, bool, float, str | None, str | None]],
) -> list[WaitingTicket]:
    """Tickets as the engine sees them: ``_WAITING_COLUMNS`` rows to ``WaitingTicket``s (queue
    kind and skill, and priority from ``urgent``)."""
    urgent, normal = Priority.URGENT, Priority.NORMAL
    return [
        WaitingTicket(
            ticket_id, kind, language, urgent if is_urgent else normal, joined, skill, org
        )
        for ticket_id, kind, language, is_urgent, joined, skill, org in rows
    ]


def waiting_ticket(ticket: Ticket) -> WaitingTicket:
    """One loaded ticket as the engine sees it (the conversion of ``as_waiting``)."""
    row = (
        ticket.id,
        ticket.kind,
        ticket.language,
        ticket.urgent,
        ticket.joined_at,
        ticket.skill,
        ticket.organisation,
    )
    return as_waiting([row])[0]


async def waiting_tickets(session: AsyncSession, *, present_only: bool) -> list[WaitingTicket]:
    query = select(*_WAITING_COLUMNS).where(Ticket.status == "waiting")
    if present_only:
        query = query.where(Ticket.disconnected_at.is_(None))
    # Positional unpacking (in as_waiting): with 5,000 waiting, named row access costs more than
    # the query itself (PERFORMANCE.md P-4).
    return as_waiting(await session.execute(query))


async def queue_heads(
    session: AsyncSession, per_queue: int
) -> tuple[list[WaitingTicket], set[QueueKey]]:
    """The first ``per_queue`` present waiting tickets of each queue in ``engine.queue_order``
    (urgent first, then by join time and id), and the queues that have more beyond them.

    Reads along ``ix_tickets_queue_order``: a few rows per queue, however long the queues are.
    """
    present = (Ticket.status == "waiting", Ticket.disconnected_at.is_(None))
    lanes = await session.execute(select(Ticket.kind, Ticket.skill).where(*present).distinct())
    heads: list[WaitingTicket] = []
    truncated: set[QueueKey] = set()
    for kind, skill in lanes.all():
        same_skill = Ticket.skill.is_(None) if skill is None else Ticket.skill == skill
        rows: list[WaitingTicket] = []
        for urgent in (True, False):
            want = per_queue + 1 - len(rows)
            if want <= 0:
                break
            query = (
                select(*_WAITING_COLUMNS)
                .where(*present, Ticket.kind == kind, same_skill, Ticket.urgent.is_(urgent))
                .order_by(Ticket.joined_at, Ticket.id)
                .limit(want)
            )
            rows += as_waiting(await session.execute(query))
        if len(rows) > per_queue:
            truncated.add(QueueKey(kind, skill))
        heads += rows[:per_queue]
    return heads, truncated


async def on_duty_counsellors(session: AsyncSession) -> list[OnDutyCounsellor]:
    # Load: open conversations held, plus warm transfers offered and not yet answered.
    held = select(Conversation.staff_id.label("staff_id")).where(Conversation.status == "open")
    offered = select(Conversation.offer_to.label("staff_id")).where(
        Conversation.offer_to.is_not(None)
    )
    claims = union_all(held, offered).subquery()
    load = (
        select(claims.c.staff_id, func.count().label("load")).group_by(claims.c.staff_id).subquery()
    )
    query = (
        select(Staff, func.coalesce(load.c.load, 0))
        .outerjoin(load, load.c.staff_id == Staff.id)
        .where(
            Staff.on_duty.is_(True),
            Staff.disabled.is_(False),
            Staff.duty_device_id.is_not(None),
        )
    )
    rows = (await session.execute(query)).all()
    return [
        OnDutyCounsellor(
            id=staff.id,
            languages=_split(staff.languages),
            skills=_split(staff.skills),
            capacity=staff.capacity,
            load=int(n),
            idle_since=staff.idle_since,
            organisation=staff.organisation,
        )
        for staff, n in rows
    ]


async def mark_assigned(session: AsyncSession, ticket_id: int, now: float) -> None:
    query = update(Ticket).where(Ticket.id == ticket_id).values(status="assigned", assigned_at=now)
    await session.execute(query)


async def recent_durations(session: AsyncSession, limit: int) -> list[float]:
    """Durations (s) of the ``limit`` most recently closed chats, oldest first."""
    query = (
        select(Conversation.opened_at, Conversation.closed_at)
        .where(Conversation.status == "closed", Conversation.closed_at.is_not(None))
        .order_by(Conversation.closed_at.desc())
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return [float(r.closed_at - r.opened_at) for r in reversed(rows)]


async def touch_idle(session: AsyncSession, staff_id: str, now: float) -> None:
    """A counsellor's chat ended: they count as idle from ``now`` (routing prefers the longest
    idle)."""
    await session.execute(update(Staff).where(Staff.id == staff_id).values(idle_since=now))


# ---------------------------------------------------------------------- holders (handover.py)


async def ticket_by_id(session: AsyncSession, ticket_id: int) -> Ticket | None:
    return await session.get(Ticket, ticket_id)


async def staff_member(session: AsyncSession, staff_id: str) -> Staff | None:
    return await session.get(Staff, staff_id)


async def held_conversations(session: AsyncSession, staff_id: str) -> list[Conversation]:
    """The open conversations ``staff_id`` holds."""
    query = select(Conversation).where(
        Conversation.staff_id == staff_id, Conversation.status == "open"
    )
    return list((await session.execute(query)).scalars().all())


async def conversations_offered_to(session: AsyncSession, staff_id: str) -> list[Conversation]:
    """Conversations with a warm offer open to ``staff_id``."""
    query = select(Conversation).where(Conversation.offer_to == staff_id)
    return list((await session.execute(query)).scalars().all())


async def expired_offers(session: AsyncSession, now: float) -> list[Conversation]:
    """Conversations whose warm offer's deadline is ``now`` or earlier."""
    query = select(Conversation).where(
        Conversation.offer_to.is_not(None), Conversation.offer_expires_at <= now
    )
    return list((await session.execute(query)).scalars().all())


async def unaccepted(session: AsyncSession, before: float) -> list[tuple[Conversation, Segment]]:
    """Open conversations whose current (latest) segment was opened before ``before`` and has
    no acceptance yet, with that segment."""
    latest = (
        select(Segment.conv_id, func.max(Segment.seg).label("seg"))
        .group_by(Segment.conv_id)
        .subquery()
    )
    query = (
        select(Conversation, Segment)
        .join(latest, latest.c.conv_id == Conversation.id)
        .join(Segment, (Segment.conv_id == latest.c.conv_id) & (Segment.seg == latest.c.seg))
        .where(
            Conversation.status == "open",
            Segment.accept_sig.is_(None),
            Segment.created_at < before,
        )
    )
    return [(conv, seg) for conv, seg in (await session.execute(query)).all()]


async def counsellor_wrote_since(session: AsyncSession, conv_id: str, seg: int) -> bool:
    """Whether any counsellor envelope of the conversation is stored in segment ``seg`` or later."""
    query = (
        select(func.count())
        .select_from(Envelope)
        .where(Envelope.conv_id == conv_id, Envelope.role == "C", Envelope.seg >= seg)
    )
    return bool((await session.execute(query)).scalar_one())


def reopen(conv: Conversation, staff_id: str) -> None:
    """A requeued conversation is held again, by ``staff_id``."""
    conv.staff_id, conv.status = staff_id, "open"


def hand_to(conv: Conversation, staff_id: str) -> None:
    """``staff_id`` holds the conversation now; a pending offer ends."""
    conv.staff_id = staff_id
    clear_offer(conv)


def offer(conv: Conversation, *, to_id: str, expires_at: float, skill: str | None) -> None:
    conv.offer_to, conv.offer_expires_at = to_id, expires_at
    conv.offer_skill = skill


def clear_offer(conv: Conversation) -> None:
    conv.offer_to = conv.offer_expires_at = conv.offer_skill = None


def move_ticket(ticket: Ticket, queue: QueueKey) -> None:
    """The ticket's queue is now ``queue``.

    The engine types a queue's kind as ``str`` because a transfer target's queue is built from a
    frame (``relay.protocol.Transfer.to_kind``, which the parser checked is youth|professional).
    """
    ticket.kind, ticket.skill = cast("QueueKind", queue.kind), queue.skill


def requeue(conv: Conversation, ticket: Ticket, queue: QueueKey) -> None:
    """The ticket waits again, in ``queue``, its join time and priority kept; the conversation
    (its transcript and segments) is kept for whoever takes it next."""
    ticket.status, ticket.assigned_at = "waiting", None
    move_ticket(ticket, queue)
    conv.status = "requeued"
    clear_offer(conv)
