"""Conversation lifecycle: closing, and what a reconnecting client needs to know."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import repository as repo
from app.staff import repository as staff_repo
from app.triage import repository as ticket_repo


async def close(session: AsyncSession, conv_id: str, *, by: str, now: float) -> bool:
    """Close an open conversation and end its ticket; False if it was already closed.

    After commit the caller must publish the close on ``conv:<id>`` and request matching
    (the counsellor has capacity again).
    """
    info = await repo.conversation(session, conv_id)
    if info is None or not await repo.close_conversation(session, conv_id, by, now):
        return False
    await ticket_repo.end_ticket(session, info.ticket_id, "ended", now)
    await staff_repo.touch_idle(session, info.staff_id, now)
    return True
