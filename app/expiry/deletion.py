""" "Delete this conversation now" (SAFETY S-18): for the young person in the chat, after the chat
with its ticket, after a return with its code, and for a supervisor (audited, with a reason).

Envelopes, wraps, grants, segments, the conversation and its ticket go in one transaction; the
statistics roll-up runs first in that transaction, so the anonymous aggregates keep the visit.
A conversation still open is closed first, and both sides are told it was deleted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import repository as audit_log
from app.chat import repository as chat_repo
from app.db import lock_matching
from app.events.broker import Broker
from app.events.channels import staff_channel
from app.events.messages import Closed, encode
from app.expiry import repository as repo
from app.supervision.rollup import roll_up
from app.triage import service as triage_service
from app.triage.announce import publish_closed

REASON = "deleted"


@dataclass(frozen=True, slots=True)
class Deleted:
    """What a deletion did, for the announcements after commit."""

    count: int
    #: (conversation, counsellor holding it, offer_to) of those that were still open.
    closed: tuple[tuple[str, str, str | None], ...]
    #: (conversation, counsellor) of every deleted conversation.
    holders: tuple[tuple[str, str], ...]


async def delete_now(
    session: AsyncSession, conv_ids: Sequence[str], *, by: str, now: float, timezone: str
) -> Deleted:
    """Delete these conversations at once, closing the open ones; the caller commits, then
    calls ``announce``."""
    await lock_matching(session)
    ids = list(dict.fromkeys(conv_ids))
    rows = await repo.conversations_by_ids(session, ids)
    closed = []
    for row in rows:
        staff_id = row.staff_id
        done = await triage_service.close(session, row.id, by=by, now=now)
        if done is not None:
            closed.append((row.id, staff_id, done.offer_to))
    holders = tuple((row.id, row.staff_id) for row in rows)
    await roll_up(session, now=now, timezone=timezone)
    tickets = await repo.tickets_of(session, ids)
    count = await repo.delete_conversations(session, ids)
    await repo.delete_tickets(session, tickets)
    return Deleted(count, tuple(closed), holders)


def announce(broker: Broker, deleted: Deleted, *, by: str) -> bool:
    """After commit: both sides of an open chat hear it closed as ``deleted``; the counsellor of
    one that had ended hears it on their own channel. True if matching should run (seats
    were freed)."""
    still_open = {conv for conv, _, _ in deleted.closed}
    for conv, _staff, offer_to in deleted.closed:
        publish_closed(broker, conv, by=by, reason=REASON, offer_to=offer_to)
    for conv, staff_id in deleted.holders:
        if conv not in still_open:
            broker.publish(staff_channel(staff_id), encode(Closed(conv, by=by, reason=REASON)))
    return bool(deleted.closed)


async def by_ticket(session: AsyncSession, ticket_id: int) -> list[str]:
    """The conversations of a young person's ticket."""
    return list(await repo.conversation_ids_of_ticket(session, ticket_id))


async def by_locator(session: AsyncSession, locator: str) -> list[str]:
    """The conversations filed under a return code's locator."""
    wraps = await chat_repo.return_wraps_by_locator(session, locator)
    return list(dict.fromkeys(w.conv_id for w in wraps))


async def audit_supervisor(
    session: AsyncSession, *, staff_id: str, conv_id: str, reason: str, now: float
) -> None:
    await audit_log.audit(
        session,
        staff_id=staff_id,
        action="conversation.deleted",
        detail=json.dumps({"conversation_id": conv_id, "reason": reason}),
        now=now,
    )


async def conversation_exists(session: AsyncSession, conv_id: str) -> bool:
    return await chat_repo.conversation_row(session, conv_id) is not None
