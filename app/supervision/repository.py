"""Every SQL statement of supervision: the tickets the roll-up takes in, the anonymous aggregates
(``queue_stats``), and what the live board shows: aliases, the chats going on, acknowledgements."""

from __future__ import annotations

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AlertAck, CloseStat, Conversation, FeedbackCount, QueueStat, Staff, Ticket
from app.supervision.board import Ack, ActiveChat
from app.supervision.glance import Profile
from app.triage.engine import QueueKey


async def uncounted_finished_tickets(session: AsyncSession, limit: int) -> list[Ticket]:
    """Up to ``limit`` tickets that stopped waiting and are not yet in the aggregates, by id."""
    query = (
        select(Ticket)
        .where(Ticket.counted_at.is_(None), Ticket.status != "waiting")
        .order_by(Ticket.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def uncounted_abandoned_chats(session: AsyncSession, limit: int) -> list[Conversation]:
    """Up to ``limit`` abandoned conversations not yet in the aggregates, by id."""
    query = (
        select(Conversation)
        .where(Conversation.status == "abandoned", Conversation.counted_at.is_(None))
        .order_by(Conversation.id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def tickets_by_ids(session: AsyncSession, ticket_ids: list[int]) -> dict[int, Ticket]:
    if not ticket_ids:
        return {}
    rows = await session.execute(select(Ticket).where(Ticket.id.in_(ticket_ids)))
    return {t.id: t for t in rows.scalars()}


async def mark_chats_counted(session: AsyncSession, conv_ids: list[str], now: float) -> None:
    query = update(Conversation).where(Conversation.id.in_(conv_ids)).values(counted_at=now)
    await session.execute(query)


async def mark_counted(session: AsyncSession, ticket_ids: list[int], now: float) -> None:
    await session.execute(update(Ticket).where(Ticket.id.in_(ticket_ids)).values(counted_at=now))


async def stat_cell(
    session: AsyncSession, *, day: str, queue: str, topic: str, language: str
) -> QueueStat | None:
    query = select(QueueStat).where(
        QueueStat.day == day,
        QueueStat.queue == queue,
        QueueStat.topic == topic,
        QueueStat.language == language,
    )
    return (await session.execute(query)).scalar_one_or_none()


def add_stat_cell(
    session: AsyncSession,
    *,
    day: str,
    queue: str,
    topic: str,
    language: str,
    joins: int,
    served: int,
    abandoned: int,
    waits: str,
) -> None:
    """Add a new cell to the session (flushed with the caller's next query or flush)."""
    session.add(
        QueueStat(
            day=day,
            queue=queue,
            topic=topic,
            language=language,
            joins=joins,
            served=served,
            abandoned=abandoned,
            waits=waits,
        )
    )


def add_to_stat_cell(
    cell: QueueStat, *, joins: int, served: int, abandoned: int, waits: str
) -> None:
    """Add counts to a loaded cell; ``waits`` replaces its list (the caller merged it)."""
    cell.joins += joins
    cell.served += served
    cell.abandoned += abandoned
    cell.waits = waits


def add_dropped(cell: QueueStat, dropped: int) -> None:
    cell.dropped += dropped


async def stat_cells(
    session: AsyncSession, *, first_day: str | None = None, last_day: str | None = None
) -> list[QueueStat]:
    """The stored cells from ``first_day`` to ``last_day`` (``YYYY-MM-DD``, inclusive)."""
    query = select(QueueStat)
    if first_day is not None:
        query = query.where(QueueStat.day >= first_day)
    if last_day is not None:
        query = query.where(QueueStat.day <= last_day)
    return list((await session.execute(query)).scalars())


async def aliases(session: AsyncSession, staff_ids: list[str]) -> dict[str, str]:
    """Staff id to alias, for the ids given (none: no query)."""
    if not staff_ids:
        return {}
    rows = await session.execute(select(Staff.id, Staff.alias).where(Staff.id.in_(staff_ids)))
    return {r.id: r.alias for r in rows}


async def staff_named(session: AsyncSession, name: str) -> list[str]:
    """The ids of staff whose username or alias is ``name`` (ignoring case), for the audit
    view's "who" filter."""
    wanted = name.strip().lower()
    query = select(Staff.id).where(
        or_(func.lower(Staff.username) == wanted, func.lower(Staff.alias) == wanted)
    )
    return list((await session.execute(query)).scalars())


async def staff_names(session: AsyncSession, staff_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Staff id to (username, alias), for the ids given (none: no query)."""
    if not staff_ids:
        return {}
    query = select(Staff.id, Staff.username, Staff.alias).where(Staff.id.in_(staff_ids))
    return {r.id: (r.username, r.alias) for r in await session.execute(query)}


async def routing_profiles(session: AsyncSession, staff_ids: list[str]) -> dict[str, Profile]:
    """What routing knows of each of these (enabled) accounts, on duty or not (none: no query).

    On duty means what matching means by it: on duty with a duty device.
    """
    if not staff_ids:
        return {}
    query = select(Staff).where(Staff.id.in_(staff_ids), Staff.disabled.is_(False))
    return {
        s.id: Profile(
            languages=_split(s.languages),
            skills=_split(s.skills),
            organisation=s.organisation,
            on_duty=s.on_duty and s.duty_device_id is not None,
        )
        for s in (await session.scalars(query))
    }


def _split(csv: str) -> frozenset[str]:
    return frozenset(part.strip() for part in csv.split(",") if part.strip())


async def active_chats(session: AsyncSession) -> list[ActiveChat]:
    """The chats going on now (open conversations), for the board: no content, no ids."""
    query = (
        select(
            Conversation.staff_id,
            Conversation.opened_at,
            Ticket.kind,
            Ticket.skill,
            Ticket.language,
            Ticket.urgent,
            Ticket.joined_at,
            Ticket.assigned_at,
        )
        .join(Ticket, Ticket.id == Conversation.ticket_id)
        .where(Conversation.status == "open")
    )
    return [
        ActiveChat(
            staff_id=r.staff_id,
            queue=str(QueueKey(r.kind, r.skill)),
            language=r.language,
            urgent=r.urgent,
            opened_at=r.opened_at,
            waited_seconds=(r.assigned_at or r.opened_at) - r.joined_at,
        )
        for r in (await session.execute(query)).all()
    ]


async def alert_acks(session: AsyncSession) -> dict[str, Ack]:
    rows = (await session.execute(select(AlertAck))).scalars()
    return {r.key: Ack(r.staff_id, r.acked_at) for r in rows}


async def add_alert_ack(session: AsyncSession, key: str, staff_id: str, now: float) -> None:
    """Acknowledge (again: the newest acknowledgement stands)."""
    row = await session.get(AlertAck, key)
    if row is None:
        session.add(AlertAck(key=key, staff_id=staff_id, acked_at=now))
    else:
        row.staff_id, row.acked_at = staff_id, now
    await session.flush()


async def prune_alert_acks(session: AsyncSession, firing: set[str]) -> int:
    """Forget the acknowledgements of alerts that no longer fire (a new episode asks again)."""
    query = delete(AlertAck)
    if firing:
        query = query.where(AlertAck.key.not_in(sorted(firing)))
    return int((await session.execute(query)).rowcount)  # type: ignore[attr-defined]


async def conversation_queue(session: AsyncSession, conv_id: str) -> str | None:
    """The queue a conversation's ticket is in (``youth``, ``youth/police``), or None."""
    query = (
        select(Ticket.kind, Ticket.skill)
        .join(Conversation, Conversation.ticket_id == Ticket.id)
        .where(Conversation.id == conv_id)
    )
    row = (await session.execute(query)).one_or_none()
    return None if row is None else str(QueueKey(row.kind, row.skill))


async def count_close_tag(
    session: AsyncSession, *, day: str, queue: str, dimension: str, value: str
) -> None:
    """Add one to a close-category cell: an upsert, so that two closes at once (in any
    processes) both count and neither fails."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(CloseStat).values(
        day=day, queue=queue, dimension=dimension, value=value, count=1
    )
    statement = statement.on_conflict_do_update(
        index_elements=["day", "queue", "dimension", "value"],
        set_={"count": CloseStat.count + 1},
    )
    await session.execute(statement)


async def close_stat_cells(
    session: AsyncSession, *, first_day: str | None, last_day: str | None
) -> list[CloseStat]:
    query = select(CloseStat)
    if first_day is not None:
        query = query.where(CloseStat.day >= first_day)
    if last_day is not None:
        query = query.where(CloseStat.day <= last_day)
    order = (CloseStat.day, CloseStat.queue, CloseStat.dimension, CloseStat.value)
    return list((await session.execute(query.order_by(*order))).scalars())


# ---------------------------------------------------------------------- after-chat feedback


async def mark_feedback_given(session: AsyncSession, ticket_id: int) -> bool:
    """Flag the ticket as having answered the feedback; False if it already had (or is gone).
    One statement, so two answers at once cannot both pass."""
    query = (
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.feedback_given.is_(None))
        .values(feedback_given=True)
    )
    return int((await session.execute(query)).rowcount) == 1  # type: ignore[attr-defined]


async def count_feedback(
    session: AsyncSession, *, day: str, kind: str, added: dict[str, int]
) -> None:
    """Add ``added[answer]`` to each feedback cell of ``day`` and ``kind`` (an upsert, as
    ``count_close_tag``), in the order given."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for answer, n in added.items():
        statement = insert(FeedbackCount).values(day=day, kind=kind, answer=answer, count=n)
        statement = statement.on_conflict_do_update(
            index_elements=["day", "kind", "answer"],
            set_={"count": FeedbackCount.count + statement.excluded.count},
        )
        await session.execute(statement)


async def feedback_cells(
    session: AsyncSession, *, first_day: str | None, last_day: str | None
) -> list[FeedbackCount]:
    query = select(FeedbackCount)
    if first_day is not None:
        query = query.where(FeedbackCount.day >= first_day)
    if last_day is not None:
        query = query.where(FeedbackCount.day <= last_day)
    order = (FeedbackCount.day, FeedbackCount.kind, FeedbackCount.answer)
    return list((await session.execute(query.order_by(*order))).scalars())


# ---------------------------------------------------------------------- metrics (scrape.py)


async def waiting_figures(
    session: AsyncSession,
) -> list[tuple[str, str | None, str, int, int, float]]:
    """Per (kind, skill, language) of waiting tickets: how many, how many urgent, and the
    earliest join: one grouped read along ``ix_tickets_status_kind``."""
    query = (
        select(
            Ticket.kind,
            Ticket.skill,
            Ticket.language,
            func.count(),
            func.sum(case((Ticket.urgent.is_(True), 1), else_=0)),
            func.min(Ticket.joined_at),
        )
        .where(Ticket.status == "waiting")
        .group_by(Ticket.kind, Ticket.skill, Ticket.language)
    )
    return [
        (kind, skill, language, int(n), int(urgent or 0), float(first))
        for kind, skill, language, n, urgent, first in (await session.execute(query)).all()
    ]


async def on_duty_by_role(session: AsyncSession) -> dict[str, int]:
    query = (
        select(Staff.role, func.count())
        .where(Staff.on_duty.is_(True), Staff.disabled.is_(False))
        .group_by(Staff.role)
    )
    return {role: int(n) for role, n in (await session.execute(query)).all()}


async def count_open_chats(session: AsyncSession) -> int:
    query = select(func.count()).select_from(Conversation).where(Conversation.status == "open")
    return int((await session.execute(query)).scalar_one())
