"""Every SQL statement about conversations (envelopes live in transcripts.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Row, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Conversation, Staff, Ticket


@dataclass(frozen=True, slots=True)
class ConversationInfo:
    id: str
    ticket_id: int
    staff_id: str
    alias: str
    kind: str
    language: str
    urgent: bool
    status: str


async def add_conversation(
    session: AsyncSession, *, conv_id: str, ticket_id: int, staff_id: str, now: float
) -> None:
    session.add(Conversation(id=conv_id, ticket_id=ticket_id, staff_id=staff_id, opened_at=now))
    await session.flush()


def _info_query() -> Select[str, int, str, str, str, str, str, bool]:
    return (
        select(
            Conversation.id,
            Conversation.ticket_id,
            Conversation.staff_id,
            Conversation.status,
            Staff.alias,
            Ticket.kind,
            Ticket.language,
            Ticket.urgent,
        )
        .join(Staff, Staff.id == Conversation.staff_id)
        .join(Ticket, Ticket.id == Conversation.ticket_id)
    )


def _to_info(row: Row[str, int, str, str, str, str, str, bool]) -> ConversationInfo:
    return ConversationInfo(
        id=row.id,
        ticket_id=row.ticket_id,
        staff_id=row.staff_id,
        alias=row.alias,
        kind=row.kind,
        language=row.language,
        urgent=row.urgent,
        status=row.status,
    )


async def conversation(session: AsyncSession, conv_id: str) -> ConversationInfo | None:
    row = (await session.execute(_info_query().where(Conversation.id == conv_id))).one_or_none()
    return None if row is None else _to_info(row)


async def open_conversations_of(session: AsyncSession, staff_id: str) -> list[ConversationInfo]:
    query = (
        _info_query()
        .where(Conversation.staff_id == staff_id, Conversation.status == "open")
        .order_by(Conversation.opened_at)
    )
    return [_to_info(row) for row in (await session.execute(query)).all()]


async def close_conversation(session: AsyncSession, conv_id: str, by: str, now: float) -> bool:
    """Close an open (or requeued) conversation; False if it was closed already."""
    query = (
        update(Conversation)
        .where(Conversation.id == conv_id, Conversation.status.in_(("open", "requeued")))
        .values(
            status="closed",
            closed_at=now,
            closed_by=by,
            offer_to=None,
            offer_expires_at=None,
            offer_skill=None,
        )
    )
    return bool((await session.execute(query)).rowcount)  # type: ignore[attr-defined]


async def close_abandoned_requeued(session: AsyncSession, now: float) -> int:
    """Requeued conversations whose ticket ended while waiting (the young person left or never
    came back) are closed too."""
    gone = select(Ticket.id).where(Ticket.status.in_(("left", "ended")))
    query = (
        update(Conversation)
        .where(Conversation.status == "requeued", Conversation.ticket_id.in_(gone))
        .values(status="closed", closed_at=now, closed_by="Y")
    )
    return int((await session.execute(query)).rowcount)  # type: ignore[attr-defined]
