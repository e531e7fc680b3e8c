"""The audit log: who did what, and when (never message content, never a young person's data).

Written by login, key and device management, staff administration and the transcript export,
inside the caller's transaction; read by the audit view. Its own package, below all of them,
so that none of them has to import another to leave a record.
"""

from __future__ import annotations

from sqlalchemy import false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEntry


async def audit(
    session: AsyncSession, *, staff_id: str | None, action: str, detail: str, now: float
) -> None:
    session.add(AuditEntry(at=now, staff_id=staff_id, action=action, detail=detail))


async def entries(
    session: AsyncSession,
    *,
    staff_ids: list[str] | None = None,
    system: bool = False,
    action: str | None = None,
    since: float | None = None,
    until: float | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """Up to ``limit`` entries, newest first (by id), matching every filter given: written by
    one of ``staff_ids`` (or, with ``system``, by no one: the CLI and the purge), ``action``,
    ``since <= at < until``, ``id < before`` (the next page)."""
    query = select(AuditEntry)
    if staff_ids is not None or system:
        who = []
        if staff_ids:
            who.append(AuditEntry.staff_id.in_(staff_ids))
        if system:
            who.append(AuditEntry.staff_id.is_(None))
        query = query.where(or_(*who) if who else false())
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    query = query.order_by(AuditEntry.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def actions(session: AsyncSession) -> list[str]:
    """Every action the log holds, sorted (the view's filter)."""
    query = select(AuditEntry.action).distinct().order_by(AuditEntry.action)
    return list((await session.execute(query)).scalars())
