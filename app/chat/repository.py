"""Every SQL statement of the chat package: conversations, their key segments, return-code wraps
and shared history, and reads of stored envelopes.

The group-commit writer of envelopes (``store.py``) keeps its own statements: see its docstring.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Row, Select, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Conversation,
    Device,
    Envelope,
    HistoryGrant,
    ReturnWrap,
    Segment,
    Staff,
    Ticket,
    TranscriptSig,
)
from app.types import ConversationId, ConversationStatus, QueueKind, SenderRole


@dataclass(frozen=True, slots=True)
class ConversationInfo:
    id: ConversationId
    ticket_id: int
    staff_id: str
    alias: str
    kind: QueueKind
    language: str
    urgent: bool
    status: ConversationStatus
    #: Whether a socket of the young person holds the ticket now (``Ticket.disconnected_at``).
    present: bool = True


async def add_conversation(
    session: AsyncSession, *, conv_id: ConversationId, ticket_id: int, staff_id: str, now: float
) -> Conversation:
    conv = Conversation(id=conv_id, ticket_id=ticket_id, staff_id=staff_id, opened_at=now)
    session.add(conv)
    await session.flush()
    return conv


def _info_query() -> Select[
    ConversationId, int, str, ConversationStatus, str, QueueKind, str, bool, float | None
]:
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
            Ticket.disconnected_at,
        )
        .join(Staff, Staff.id == Conversation.staff_id)
        .join(Ticket, Ticket.id == Conversation.ticket_id)
    )


def _to_info(
    row: Row[ConversationId, int, str, ConversationStatus, str, QueueKind, str, bool, float | None],
) -> ConversationInfo:
    return ConversationInfo(
        id=row.id,
        ticket_id=row.ticket_id,
        staff_id=row.staff_id,
        alias=row.alias,
        kind=row.kind,
        language=row.language,
        urgent=row.urgent,
        status=row.status,
        present=row.disconnected_at is None,
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


async def close_conversation(
    session: AsyncSession,
    conv_id: str,
    by: SenderRole,
    now: float,
    *,
    status: ConversationStatus = "closed",
) -> bool:
    """End an open (or requeued) conversation as ``status`` (closed | abandoned); False if it
    had ended already."""
    query = (
        update(Conversation)
        .where(Conversation.id == conv_id, Conversation.status.in_(("open", "requeued")))
        .values(
            status=status,
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


async def conversation_row(session: AsyncSession, conv_id: str) -> Conversation | None:
    return await session.get(Conversation, conv_id)


# ---------------------------------------------------------------------- key segments


async def add_segment(
    session: AsyncSession,
    *,
    conv_id: str,
    seg: int,
    device_id: str,
    period_id: str | None,
    now: float,
) -> None:
    session.add(
        Segment(conv_id=conv_id, seg=seg, device_id=device_id, period_id=period_id, created_at=now)
    )
    await session.flush()


async def latest_segment(session: AsyncSession, conv_id: str) -> Segment | None:
    query = select(Segment).where(Segment.conv_id == conv_id).order_by(Segment.seg.desc()).limit(1)
    return (await session.execute(query)).scalar_one_or_none()


async def segment(session: AsyncSession, conv_id: str, seg: int) -> Segment | None:
    return await session.get(Segment, (conv_id, seg))


async def set_keys(session: AsyncSession, row: Segment, *, wrap_c: str, wrap_o: str | None) -> None:
    row.wrap_c, row.wrap_o = wrap_c, wrap_o
    await session.flush()


async def set_accept(session: AsyncSession, row: Segment, sig: str, signed_at: int | None) -> None:
    row.accept_sig, row.accept_at = sig, signed_at
    await session.flush()


async def put_transcript_sig(
    session: AsyncSession,
    *,
    conv_id: str,
    seg: int,
    device_id: str,
    n: int,
    digest: str,
    sig: str,
    covers: str,
    now: float,
) -> None:
    """Keep the latest transcript signature of (conv, seg, device): insert or replace."""
    row = await session.get(TranscriptSig, (conv_id, seg, device_id))
    if row is None:
        row = TranscriptSig(conv_id=conv_id, seg=seg, device_id=device_id)
        session.add(row)
    row.n, row.digest, row.sig, row.covers, row.signed_at = n, digest, sig, covers, now
    await session.flush()


async def segment_holders(session: AsyncSession, conv_id: str) -> list[tuple[int, str]]:
    """``(seg, staff id of its device)`` for every segment of a conversation, latest first."""
    query = (
        select(Segment.seg, Device.staff_id)
        .join(Device, Device.id == Segment.device_id)
        .where(Segment.conv_id == conv_id)
        .order_by(Segment.seg.desc())
    )
    return [(seg, holder) for seg, holder in (await session.execute(query)).all()]


# ---------------------------------------------------------------------- return-code wraps


async def return_wraps_of(session: AsyncSession, conv_id: str) -> list[ReturnWrap]:
    query = select(ReturnWrap).where(ReturnWrap.conv_id == conv_id)
    return list((await session.execute(query)).scalars().all())


async def return_wraps_by_locator(session: AsyncSession, locator: str) -> list[ReturnWrap]:
    """The wraps filed under a return code's locator, by conversation and segment."""
    query = (
        select(ReturnWrap)
        .where(ReturnWrap.locator == locator)
        .order_by(ReturnWrap.conv_id, ReturnWrap.seg)
    )
    return list((await session.execute(query)).scalars().all())


async def is_filed(session: AsyncSession, *, locator: str | None, conv_id: str, seg: int) -> bool:
    """Whether segment ``seg`` of ``conv_id`` has a wrap filed under ``locator``."""
    query = select(ReturnWrap.id).where(
        ReturnWrap.locator == locator, ReturnWrap.conv_id == conv_id, ReturnWrap.seg == seg
    )
    return (await session.execute(query)).first() is not None


async def add_return_wrap(
    session: AsyncSession,
    *,
    locator: str,
    conv_id: str,
    seg: int,
    salt: str,
    nonce: str,
    wrap: str,
    now: float,
) -> None:
    session.add(
        ReturnWrap(
            locator=locator,
            conv_id=conv_id,
            seg=seg,
            salt=salt,
            nonce=nonce,
            wrap=wrap,
            created_at=now,
        )
    )
    await session.flush()


# ---------------------------------------------------------------------- shared history


async def granted_segments(
    session: AsyncSession, conv_id: str, device_id: str
) -> set[tuple[str, int]]:
    """``(from_conv_id, seg)`` of every earlier segment shared with ``device_id`` in ``conv_id``."""
    query = select(HistoryGrant.from_conv_id, HistoryGrant.seg).where(
        HistoryGrant.conv_id == conv_id, HistoryGrant.device_id == device_id
    )
    return set((await session.execute(query)).tuples())


def add_history_grant(
    session: AsyncSession,
    *,
    conv_id: str,
    from_conv_id: str,
    seg: int,
    device_id: str,
    wrap: str,
    now: float,
) -> None:
    """Add a grant to the session; the caller flushes (after the last one)."""
    session.add(
        HistoryGrant(
            conv_id=conv_id,
            from_conv_id=from_conv_id,
            seg=seg,
            device_id=device_id,
            wrap=wrap,
            created_at=now,
        )
    )


async def history_grants(session: AsyncSession, conv_id: str, device_id: str) -> list[HistoryGrant]:
    query = (
        select(HistoryGrant)
        .where(HistoryGrant.conv_id == conv_id, HistoryGrant.device_id == device_id)
        .order_by(HistoryGrant.id)
    )
    return list((await session.execute(query)).scalars().all())


async def envelopes_of(
    session: AsyncSession, conv_id: str, segs: list[int] | None = None
) -> list[Envelope]:
    """A conversation's stored envelopes (of segments ``segs`` only, if given), in stored order."""
    query = select(Envelope).where(Envelope.conv_id == conv_id)
    if segs is not None:
        query = query.where(Envelope.seg.in_(segs))
    return list((await session.execute(query.order_by(Envelope.id))).scalars().all())


async def conversation_for_sealing(
    session: AsyncSession, conv_id: str
) -> tuple[Conversation, str, str | None] | None:
    """The conversation's row, locked for update, with its queue (kind, skill)."""
    query = (
        select(Conversation, Ticket.kind, Ticket.skill)
        .join(Ticket, Ticket.id == Conversation.ticket_id)
        .where(Conversation.id == conv_id)
        .with_for_update(of=Conversation)
    )
    row = (await session.execute(query)).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


async def queues_of(
    session: AsyncSession, conv_ids: list[str]
) -> list[tuple[str, str, str | None]]:
    """``(conversation id, queue kind, skill)`` of these conversations."""
    query = (
        select(Conversation.id, Ticket.kind, Ticket.skill)
        .join(Ticket, Ticket.id == Conversation.ticket_id)
        .where(Conversation.id.in_(conv_ids))
    )
    return [(r[0], r[1], r[2]) for r in (await session.execute(query)).all()]


async def keep_until(session: AsyncSession, conv_ids: list[str], until: float) -> None:
    """Keep these conversations at least until ``until`` (a return visit, a shared history)."""
    if not conv_ids:
        return
    await session.execute(
        update(Conversation)
        .where(
            Conversation.id.in_(conv_ids),
            or_(Conversation.kept_until.is_(None), Conversation.kept_until < until),
        )
        .values(kept_until=until)
    )


async def youth_key_of(session: AsyncSession, conv_id: str) -> str | None:
    """The young person's page key stored with the conversation's ticket at join (§6.7)."""
    query = (
        select(Ticket.youth_sig_key)
        .join(Conversation, Conversation.ticket_id == Ticket.id)
        .where(Conversation.id == conv_id)
    )
    return (await session.execute(query)).scalar_one_or_none()
