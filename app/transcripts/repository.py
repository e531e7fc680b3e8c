"""Every SQL statement of the transcript export (read-only; the audit row goes through staff)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Conversation,
    Device,
    Envelope,
    PeriodKey,
    Segment,
    Ticket,
    TranscriptSig,
)


async def conversation_by_id(session: AsyncSession, conv_id: str) -> Conversation | None:
    return await session.get(Conversation, conv_id)


async def period_by_public_key(session: AsyncSession, public_key: str) -> PeriodKey | None:
    query = select(PeriodKey).where(PeriodKey.public_key == public_key)
    return (await session.execute(query)).scalars().first()


async def segments_of(session: AsyncSession, conv_id: str) -> list[Segment]:
    query = select(Segment).where(Segment.conv_id == conv_id).order_by(Segment.seg)
    return list((await session.execute(query)).scalars())


async def devices_by_id(session: AsyncSession, device_ids: set[str]) -> dict[str, Device]:
    if not device_ids:
        return {}
    query = select(Device).where(Device.id.in_(device_ids))
    return {device.id: device for device in (await session.execute(query)).scalars()}


async def envelopes_of(session: AsyncSession, conv_id: str) -> list[Envelope]:
    """Every stored envelope of the conversation in stored order (by id)."""
    query = select(Envelope).where(Envelope.conv_id == conv_id).order_by(Envelope.id)
    return list((await session.execute(query)).scalars())


async def transcript_sigs_of(session: AsyncSession, conv_id: str) -> list[TranscriptSig]:
    query = select(TranscriptSig).where(TranscriptSig.conv_id == conv_id)
    return list((await session.execute(query)).scalars())


async def youth_key_of(session: AsyncSession, conversation: Conversation) -> str | None:
    """The young person's page key stored with the conversation's ticket at join (§6.7)."""
    query = select(Ticket.youth_sig_key).where(Ticket.id == conversation.ticket_id)
    return (await session.execute(query)).scalar_one_or_none()
