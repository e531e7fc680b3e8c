"""Every SQL statement of retention: settling expiries, moving buckets, deleting expired rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import CompoundSelect, delete, exists, func, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.models import (
    Conversation,
    Envelope,
    HistoryGrant,
    ReturnWrap,
    Segment,
    Ticket,
    TranscriptSig,
)
from app.types import ConversationId

ENDED = ("closed", "abandoned")
LIVE = ("open", "requeued")


@dataclass(frozen=True, slots=True)
class Unsettled:
    id: str
    bucket: str | None
    closed_at: float
    kept_until: float | None
    kind: str
    skill: str | None


async def unsettled(session: AsyncSession, limit: int) -> list[Unsettled]:
    """Ended conversations whose expiry is not set yet, or that a return visit keeps longer."""
    query = (
        select(
            Conversation.id,
            Conversation.bucket,
            Conversation.closed_at,
            Conversation.kept_until,
            Ticket.kind,
            Ticket.skill,
        )
        .join(Ticket, Ticket.id == Conversation.ticket_id)
        .where(
            Conversation.status.in_(ENDED),
            or_(
                Conversation.expires_at.is_(None),
                Conversation.kept_until > Conversation.expires_at,
            ),
        )
        .order_by(Conversation.id)
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return [
        Unsettled(
            r.id,
            r.bucket,
            r.closed_at if r.closed_at is not None else 0.0,
            r.kept_until,
            r.kind,
            r.skill,
        )
        for r in rows
    ]


async def set_expiry(session: AsyncSession, conv_id: str, expires_at: float) -> None:
    await session.execute(
        update(Conversation).where(Conversation.id == conv_id).values(expires_at=expires_at)
    )


async def shared_into(session: AsyncSession, conv_id: str) -> list[str]:
    """The earlier conversations whose segments were shared into ``conv_id``."""
    query = select(HistoryGrant.from_conv_id).where(
        HistoryGrant.conv_id == conv_id, HistoryGrant.from_conv_id != conv_id
    )
    return sorted(set((await session.execute(query)).scalars()))


async def expiry_of(session: AsyncSession, conv_id: str) -> tuple[str | None, float | None] | None:
    """``(bucket, expires_at)`` of a conversation, or None if it is gone."""
    query = select(Conversation.bucket, Conversation.expires_at).where(Conversation.id == conv_id)
    row = (await session.execute(query)).one_or_none()
    return None if row is None else (row[0], row[1])


async def expired(session: AsyncSession, now: float, limit: int) -> list[str]:
    """Conversations past their expiry whose statistics have been taken."""
    query = (
        select(Conversation.id)
        .join(Ticket, Ticket.id == Conversation.ticket_id)
        .where(
            Conversation.expires_at <= now,
            Ticket.counted_at.is_not(None),
            or_(Conversation.status != "abandoned", Conversation.counted_at.is_not(None)),
        )
        .order_by(Conversation.expires_at)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def delete_conversations(session: AsyncSession, conv_ids: Sequence[str]) -> int:
    """Delete these conversations with their envelopes, wraps and grants; returns how many."""
    if not conv_ids:
        return 0
    ids = list(conv_ids)
    await session.execute(delete(Envelope).where(Envelope.conv_id.in_(ids)))
    await session.execute(
        delete(HistoryGrant).where(
            or_(HistoryGrant.conv_id.in_(ids), HistoryGrant.from_conv_id.in_(ids))
        )
    )
    await session.execute(delete(ReturnWrap).where(ReturnWrap.conv_id.in_(ids)))
    await session.execute(delete(TranscriptSig).where(TranscriptSig.conv_id.in_(ids)))
    await session.execute(delete(Segment).where(Segment.conv_id.in_(ids)))
    result = await session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class FinishedTicket:
    id: int
    kind: str
    skill: str | None
    ended_at: float


async def finished_tickets(
    session: AsyncSession, before: float, limit: int
) -> list[FinishedTicket]:
    """Counted tickets that ended before ``before`` and no longer have a conversation."""
    query = (
        select(Ticket.id, Ticket.kind, Ticket.skill, Ticket.ended_at)
        .where(
            Ticket.status.in_(("ended", "left")),
            Ticket.counted_at.is_not(None),
            Ticket.ended_at <= before,
            ~exists().where(Conversation.ticket_id == Ticket.id),
        )
        .order_by(Ticket.id)
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return [FinishedTicket(r.id, r.kind, r.skill, r.ended_at or 0.0) for r in rows]


async def delete_tickets(session: AsyncSession, ticket_ids: Sequence[int]) -> int:
    """Delete these tickets, unless a conversation still refers to one (never cascade)."""
    if not ticket_ids:
        return 0
    query = delete(Ticket).where(
        Ticket.id.in_(list(ticket_ids)),
        Ticket.counted_at.is_not(None),
        ~exists().where(Conversation.ticket_id == Ticket.id),
    )
    return int((await session.execute(query)).rowcount)  # type: ignore[attr-defined]


async def tickets_of(session: AsyncSession, conv_ids: Sequence[str]) -> list[int]:
    query = select(Conversation.ticket_id).where(Conversation.id.in_(list(conv_ids)))
    return sorted(set((await session.execute(query)).scalars()))


async def live_in_buckets_up_to(session: AsyncSession, week: str, limit: int) -> list[str]:
    """Open (or requeued) conversations sealed under ``week`` or an earlier one."""
    query = (
        select(Conversation.id)
        .where(
            Conversation.status.in_(LIVE),
            Conversation.bucket.is_not(None),
            Conversation.bucket <= week,
        )
        .order_by(Conversation.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


def _sealed_under(prefix: str) -> CompoundSelect[str]:
    """Conversation ids with any wrap whose stored form starts with ``prefix``."""
    pattern = prefix.replace("%", "").replace("_", r"\_") + "%"
    return union(
        select(Segment.conv_id).where(
            or_(
                Segment.wrap_c.like(pattern, escape="\\"), Segment.wrap_o.like(pattern, escape="\\")
            )
        ),
        select(ReturnWrap.conv_id).where(ReturnWrap.wrap.like(pattern, escape="\\")),
        select(HistoryGrant.conv_id).where(HistoryGrant.wrap.like(pattern, escape="\\")),
    )


async def in_bucket(session: AsyncSession, week: str) -> list[str]:
    """Every conversation that still needs the key of ``week``: sealed under it by its row, or
    holding any wrap sealed under it."""
    by_row = select(Conversation.id).where(Conversation.bucket == week)
    found: set[str] = set((await session.execute(by_row)).scalars())
    found |= set((await session.execute(_sealed_under(f"b1.{week}."))).scalars())
    return sorted(found)


async def not_yet_sealed(session: AsyncSession, limit: int) -> list[str]:
    """Conversations with a wrap stored before bucket sealing existed."""
    pattern = "b1.%"
    query = union(
        select(Segment.conv_id).where(
            or_(
                Segment.wrap_c.is_not(None) & ~Segment.wrap_c.like(pattern),
                Segment.wrap_o.is_not(None) & ~Segment.wrap_o.like(pattern),
            )
        ),
        select(ReturnWrap.conv_id).where(~ReturnWrap.wrap.like(pattern)),
        select(HistoryGrant.conv_id).where(~HistoryGrant.wrap.like(pattern)),
    ).limit(limit)
    return list((await session.execute(query)).scalars())


async def wraps_of(
    session: AsyncSession, conv_id: str
) -> tuple[list[Segment], list[ReturnWrap], list[HistoryGrant]]:
    """Every stored wrap of a conversation, as rows to be rewritten."""
    segments = (await session.execute(select(Segment).where(Segment.conv_id == conv_id))).scalars()
    returns = (
        await session.execute(select(ReturnWrap).where(ReturnWrap.conv_id == conv_id))
    ).scalars()
    grants = (
        await session.execute(select(HistoryGrant).where(HistoryGrant.conv_id == conv_id))
    ).scalars()
    return list(segments), list(returns), list(grants)


async def buckets_in_use(session: AsyncSession) -> dict[str, int]:
    """Week -> number of stored conversations sealed under it."""
    query = (
        select(Conversation.bucket, func.count())
        .where(Conversation.bucket.is_not(None))
        .group_by(Conversation.bucket)
    )
    return {week: int(n) for week, n in (await session.execute(query)).all() if week is not None}


async def conversations_by_ids(
    session: AsyncSession, conv_ids: Sequence[str]
) -> list[Conversation]:
    query = select(Conversation).where(Conversation.id.in_(list(conv_ids)))
    return list((await session.execute(query)).scalars())


async def conversation_ids_of_ticket(session: AsyncSession, ticket_id: int) -> list[ConversationId]:
    query = select(Conversation.id).where(Conversation.ticket_id == ticket_id)
    return list((await session.execute(query)).scalars())


async def checkpoint_sqlite(conn: AsyncConnection) -> tuple[int, int, int]:
    """``PRAGMA wal_checkpoint(TRUNCATE)``: the WAL's pages copied into the database file and the
    WAL cut to zero bytes; returns SQLite's ``(busy, log frames, checkpointed frames)``.

    Run on the driver's connection, outside any transaction (SQLite refuses a checkpoint
    inside one, and every SQLAlchemy connection here begins with BEGIN IMMEDIATE).
    """
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None  # noqa: S101 - a live connection
    cursor = await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    try:
        row = await cursor.fetchone()
    finally:
        await cursor.close()
    assert row is not None  # noqa: S101 - the pragma always answers one row
    return int(row[0]), int(row[1]), int(row[2])
