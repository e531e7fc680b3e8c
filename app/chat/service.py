"""Conversation lifecycle: closing, and what a reconnecting client needs to know."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import repository as repo
from app.models import Conversation
from app.staff import repository as staff_repo
from app.triage import repository as ticket_repo


@dataclass(frozen=True, slots=True)
class Closed:
    """A conversation was closed; a warm transfer offered to ``offer_to`` ended with it."""

    offer_to: str | None


async def close(session: AsyncSession, conv_id: str, *, by: str, now: float) -> Closed | None:
    """Close an open (or requeued) conversation and end its ticket; None if already closed.

    After commit the caller must publish the close (``publish_closed``, which also withdraws a
    pending offer) and request matching (the counsellor has capacity again).
    """
    conv = await session.get(Conversation, conv_id)
    if conv is None:
        return None
    ticket_id, staff_id, offer_to = conv.ticket_id, conv.staff_id, conv.offer_to
    if not await repo.close_conversation(session, conv_id, by, now):
        return None
    await ticket_repo.end_ticket(session, ticket_id, "ended", now)
    await staff_repo.touch_idle(session, staff_id, now)
    return Closed(offer_to=offer_to)
