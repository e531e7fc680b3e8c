"""Shifts across processes: console heartbeats, and taking a counsellor whose consoles all went
silent off duty (DESIGN.md §5). Services never commit."""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import lock_matching
from app.models import Staff
from app.staff import repository as staff_repo
from app.triage import handover


async def heartbeat(session: AsyncSession, staff_id: str, now: float) -> None:
    """A console of ``staff_id`` is alive (sent by every open console every few seconds)."""
    await session.execute(update(Staff).where(Staff.id == staff_id).values(heartbeat_at=now))


async def sweep(
    session: AsyncSession, *, timeout: float, now: float
) -> tuple[list[str], list[handover.Change]]:
    """Counsellors on duty with no heartbeat for ``timeout`` seconds go off duty; their
    unanswered chats go back to the queue and offers to them return (``handover.release``).

    Returns the staff ids taken off duty and the conversation changes to announce.
    """
    await lock_matching(session)
    silent = select(Staff.id).where(
        Staff.on_duty.is_(True),
        or_(Staff.heartbeat_at.is_(None), Staff.heartbeat_at < now - timeout),
    )
    gone = list((await session.execute(silent)).scalars())
    changes: list[handover.Change] = []
    for staff_id in gone:
        await staff_repo.set_duty(session, staff_id, False, now)
        changes += await handover.release(session, staff_id)
    return gone, changes
