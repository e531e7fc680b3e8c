"""What supervisors see of the queue: the live board (reads only; no transaction needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.supervision import alerts, board
from app.supervision import repository as repo
from app.triage import hours
from app.triage import repository as triage_repo
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
    tickets = await triage_repo.waiting_tickets(session, present_only=False)
    counsellors = await triage_repo.on_duty_counsellors(session)
    chats = await repo.active_chats(session)
    acks = await repo.alert_acks(session)
    staff_ids = {c.id for c in counsellors} | {c.staff_id for c in chats}
    staff_ids |= {a.staff_id for a in acks.values()}
    aliases = await repo.aliases(session, sorted(staff_ids))
    snapshot = alerts.Snapshot(
        tickets=tuple(tickets),
        counsellors=tuple(counsellors),
        is_open=hours.is_open(setup.schedule, datetime.fromtimestamp(now, UTC)),
        now=now,
    )
    return board.board(snapshot, aliases, limits, chats, acks)
