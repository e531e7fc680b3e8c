"""What supervisors see of the queue: the live board (reads only; no transaction needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import Staff
from app.supervision import alerts, board
from app.triage import hours
from app.triage import repository as repo
from app.triage.setup import TriageSetup


def thresholds(settings: Settings) -> alerts.Thresholds:
    """The alert thresholds the centre configured (``VH_ALERT_*``)."""
    return alerts.Thresholds(
        max_wait=settings.alert_max_wait_seconds,
        max_queue=settings.alert_max_queue,
        urgent_grace=settings.alert_urgent_grace_seconds,
    )


async def live_board(
    session: AsyncSession, setup: TriageSetup, limits: alerts.Thresholds, now: float
) -> dict[str, Any]:
    """The board of ``board.board`` from one snapshot of waiting tickets and staff on duty."""
    tickets = await repo.waiting_tickets(session, present_only=False)
    counsellors = await repo.on_duty_counsellors(session)
    ids = [c.id for c in counsellors]
    aliases: dict[str, str] = {}
    if ids:
        rows = await session.execute(select(Staff.id, Staff.alias).where(Staff.id.in_(ids)))
        aliases = {r.id: r.alias for r in rows}
    snapshot = alerts.Snapshot(
        tickets=tuple(tickets),
        counsellors=tuple(counsellors),
        is_open=hours.is_open(setup.schedule, datetime.fromtimestamp(now, UTC)),
        now=now,
    )
    return board.board(snapshot, aliases, limits)
