"""The audit log: who did what, and when (never message content, never a young person's data).

Written by login, key and device management, staff administration and the transcript export,
inside the caller's transaction. Its own package, below all of them, so that none of them has to
import another to leave a record.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEntry


async def audit(
    session: AsyncSession, *, staff_id: str | None, action: str, detail: str, now: float
) -> None:
    session.add(AuditEntry(at=now, staff_id=staff_id, action=action, detail=detail))
