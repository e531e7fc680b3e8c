"""Anonymous aggregates: rolling finished tickets into ``queue_stats``, and the export.

``roll_up`` counts each ticket once, when it stops waiting (served: assigned to a counsellor;
abandoned: left the queue or its socket stayed away past the grace), and marks it counted, so the
cells survive the retention purge of tickets and conversations (DESIGN.md §3.9). A served chat
that ended because the young person's connection never came back (an ``abandoned`` conversation)
is counted once more, in ``dropped``, under the cell its ticket joined. Tickets that never
existed (joins refused as closed, no one on duty, or queue full) are not counted. The purge must
call ``roll_up`` before it deletes tickets. Only ``export`` output may leave the system: it goes
through ``stats.export``, which suppresses every count under 5.
"""

from __future__ import annotations

import json
import logging
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import is_outage, lock_matching, transaction
from app.kit.clock import Clock
from app.models import Ticket
from app.supervision import repository as repo
from app.supervision import stats
from app.triage.engine import QueueKey
from app.triage.hours import DEFAULT_TIMEZONE

log = logging.getLogger(__name__)

#: Tickets taken in by one roll-up transaction (the rest wait for the next run).
BATCH = 5000


def _visit(ticket: Ticket) -> stats.Visit:
    wait: float | None
    if ticket.assigned_at is not None:
        outcome, wait = stats.Outcome.SERVED, ticket.assigned_at - ticket.joined_at
    elif ticket.status == "left":
        outcome = stats.Outcome.ABANDONED
        wait = None if ticket.ended_at is None else ticket.ended_at - ticket.joined_at
    else:
        outcome, wait = stats.Outcome.OTHER, None
    return stats.Visit(
        joined_at=ticket.joined_at,
        queue=str(QueueKey(ticket.kind, ticket.skill)),
        topic=ticket.topic,
        language=ticket.language,
        outcome=outcome,
        wait=wait,
    )


async def roll_up(session: AsyncSession, *, now: float, timezone: str = DEFAULT_TIMEZONE) -> int:
    """Add every finished, not yet counted ticket to its cell; returns how many were added.

    Takes the matching lock, so concurrent roll-ups (several processes) never count a ticket
    twice. Runs inside the caller's transaction; the caller commits.
    """
    await lock_matching(session)
    dropped = await _roll_up_dropped(session, now=now, timezone=timezone)
    tickets = await repo.uncounted_finished_tickets(session, BATCH)
    if not tickets:
        return dropped
    cells = stats.aggregate((_visit(t) for t in tickets), timezone)
    for key, cell in cells.items():
        day = key.day.isoformat()
        existing = await repo.stat_cell(
            session, day=day, queue=key.queue, topic=key.topic, language=key.language
        )
        waits = [round(w) for w in cell.served_waits]
        if existing is None:
            repo.add_stat_cell(
                session,
                day=day,
                queue=key.queue,
                topic=key.topic,
                language=key.language,
                joins=cell.joins,
                served=cell.served,
                abandoned=cell.abandoned,
                waits=json.dumps(waits),
            )
        else:
            repo.add_to_stat_cell(
                existing,
                joins=cell.joins,
                served=cell.served,
                abandoned=cell.abandoned,
                waits=json.dumps(sorted(json.loads(existing.waits) + waits)),
            )
    await repo.mark_counted(session, [t.id for t in tickets], now)
    await session.flush()
    return dropped + len(tickets)


async def _roll_up_dropped(session: AsyncSession, *, now: float, timezone: str) -> int:
    """Abandoned chats (the young person's connection never came back) into ``dropped``, under
    the cell their ticket joined; each once. The ticket itself was counted as served."""
    chats = await repo.uncounted_abandoned_chats(session, BATCH)
    if not chats:
        return 0
    tickets = await repo.tickets_by_ids(session, [c.ticket_id for c in chats])
    counts: dict[stats.CellKey, int] = {}
    for chat in chats:
        ticket = tickets[chat.ticket_id]
        key = stats.CellKey(
            stats.local_day(ticket.joined_at, timezone),
            str(QueueKey(ticket.kind, ticket.skill)),
            ticket.topic or "",
            ticket.language,
        )
        counts[key] = counts.get(key, 0) + 1
    for key, n in counts.items():
        day = key.day.isoformat()
        existing = await repo.stat_cell(
            session, day=day, queue=key.queue, topic=key.topic, language=key.language
        )
        if existing is None:
            repo.add_stat_cell(
                session,
                day=day,
                queue=key.queue,
                topic=key.topic,
                language=key.language,
                joins=0,
                served=0,
                abandoned=0,
                waits="[]",
            )
            await session.flush()
            existing = await repo.stat_cell(
                session, day=day, queue=key.queue, topic=key.topic, language=key.language
            )
            assert existing is not None  # noqa: S101 - added a moment ago
        repo.add_dropped(existing, n)
    await repo.mark_chats_counted(session, [c.id for c in chats], now)
    await session.flush()
    return len(chats)


async def cells(
    session: AsyncSession, *, first: date | None = None, last: date | None = None
) -> dict[stats.CellKey, stats.Cell]:
    """The stored cells between ``first`` and ``last`` (local days, inclusive)."""
    rows = await repo.stat_cells(
        session,
        first_day=None if first is None else first.isoformat(),
        last_day=None if last is None else last.isoformat(),
    )
    found: dict[stats.CellKey, stats.Cell] = {}
    for row in rows:
        key = stats.CellKey(date.fromisoformat(row.day), row.queue, row.topic, row.language)
        waits = tuple(sorted(float(w) for w in json.loads(row.waits)))
        found[key] = stats.Cell(row.joins, row.served, row.abandoned, waits, row.dropped)
    return found


#: How often the anonymous aggregates take in the tickets that finished.
ROLL_UP_INTERVAL = 60.0


class RollUp:
    """The dispatcher chore that runs ``roll_up`` at most every ``ROLL_UP_INTERVAL`` seconds.

    Errors are logged; the next run tries again.
    """

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, *, timezone: str
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._timezone = timezone
        self._last = 0.0

    async def __call__(self) -> None:
        now = self._clock()
        if now - self._last < ROLL_UP_INTERVAL:
            return
        self._last = now
        try:
            async with transaction(self._sessionmaker) as session:
                await roll_up(session, now=now, timezone=self._timezone)
        except Exception as exc:
            if not is_outage(exc):
                log.exception("statistics roll-up failed")
            else:
                log.warning("statistics roll-up: database unavailable (%s)", type(exc).__name__)
