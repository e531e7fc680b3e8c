"""Concurrent matching never hands one ticket to two counsellors (DESIGN.md §5).

Two engines (two connection pools, as two server processes would have) run
``triage_service.match`` in concurrent transactions, round after round, each round with one new
waiting ticket and two counsellors on duty who could both take it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import MATCH_LOCK_KEY, make_engine, make_sessionmaker, transaction
from app.kit.ids import new_id, new_token, token_digest
from app.migrate import upgrade
from app.models import Conversation, Device, Staff, Ticket
from app.triage import service as triage_service
from tests.conftest import Database, database_of

ROUNDS = 12


async def _setup_counsellors(engine: AsyncEngine) -> list[str]:
    ids = [new_id(), new_id()]
    async with transaction(make_sessionmaker(engine)) as session:
        for i, staff_id in enumerate(ids):
            session.add(
                Staff(
                    id=staff_id,
                    username=f"counsellor{i}",
                    alias=f"Alias{i}",
                    role="counsellor",
                    password_hash="-",
                    totp_secret="-",
                    languages="sv",
                    skills="youth",
                    capacity=ROUNDS,  # capacity never decides: only the lock does
                    on_duty=True,
                    duty_device_id=f"device{i}",
                    idle_since=0.0,
                    created_at=0.0,
                )
            )
            await session.flush()
            # Matching seals each chat to the counsellor's duty device (its keys do not matter).
            session.add(
                Device(
                    id=f"device{i}",
                    staff_id=staff_id,
                    hpke_public_key="-",
                    sig_public_key="-",
                    not_after=2**40,
                    certificate="-",
                    created_at=0.0,
                )
            )
    return ids


async def _add_ticket(engine: AsyncEngine) -> int:
    async with transaction(make_sessionmaker(engine)) as session:
        ticket = Ticket(
            token_digest=token_digest(new_token()),
            kind="youth",
            language="sv",
            status="waiting",
            joined_at=time.time(),
        )
        session.add(ticket)
        await session.flush()
        return ticket.id


async def _match(engine: AsyncEngine, start: asyncio.Event) -> list[triage_service.Paired]:
    await start.wait()
    async with transaction(make_sessionmaker(engine)) as session:
        return await triage_service.match(session, time.time())


async def test_two_matchers_never_take_the_same_ticket(database: Database) -> None:
    engines = [make_engine(database.settings()) for _ in range(2)]
    try:
        staff_ids = await _setup_counsellors(engines[0])
        for _ in range(ROUNDS):
            ticket_id = await _add_ticket(engines[0])
            start = asyncio.Event()
            runs = [asyncio.create_task(_match(engine, start)) for engine in engines]
            await asyncio.sleep(0)
            start.set()
            results = await asyncio.gather(*runs)

            pairings = [p for result in results for p in result]
            assert len(pairings) == 1, results  # one matcher took it, the other found nothing
            assert pairings[0].ticket_id == ticket_id
            assert pairings[0].staff_id in staff_ids

            async with make_sessionmaker(engines[0])() as session:
                convs = (
                    await session.execute(
                        select(Conversation.id, Conversation.staff_id).where(
                            Conversation.ticket_id == ticket_id
                        )
                    )
                ).all()
                ticket = await session.get(Ticket, ticket_id)
            assert [c.id for c in convs] == [pairings[0].conv_id]
            assert ticket is not None
            assert ticket.status == "assigned"

        async with make_sessionmaker(engines[0])() as session:
            total = (await session.execute(select(func.count()).select_from(Conversation))).scalar()
        assert total == ROUNDS
    finally:
        for engine in engines:
            await engine.dispose()


async def test_many_matchers_many_tickets(database: Database) -> None:
    """Four matchers at once over a queue of tickets: each ticket in at most one conversation."""
    engines = [make_engine(database.settings()) for _ in range(4)]
    try:
        await _setup_counsellors(engines[0])
        tickets = [await _add_ticket(engines[0]) for _ in range(6)]
        start = asyncio.Event()
        runs = [asyncio.create_task(_match(engine, start)) for engine in engines]
        await asyncio.sleep(0)
        start.set()
        pairings = [p for result in await asyncio.gather(*runs) for p in result]
        assert sorted(p.ticket_id for p in pairings) == sorted(tickets)  # all taken, once each
        async with make_sessionmaker(engines[0])() as session:
            rows = (await session.execute(select(Conversation.ticket_id))).scalars().all()
        assert sorted(rows) == sorted(tickets)
    finally:
        for engine in engines:
            await engine.dispose()


def test_matching_holds_the_advisory_lock_on_postgresql(tmp_path: Path) -> None:
    """On PostgreSQL, ``match`` takes ``pg_advisory_xact_lock(MATCH_LOCK_KEY)`` for the rest of
    its transaction: a second process's matching waits for the first to commit. (SQLite's
    BEGIN IMMEDIATE serialises every writer already.)"""
    with database_of("postgresql", tmp_path) as database:
        upgrade(database.url)
        asyncio.run(_two_matchers_take_turns(database))


async def _two_matchers_take_turns(database: Database) -> None:
    one, two = make_engine(database.settings()), make_engine(database.settings())
    try:
        async with transaction(make_sessionmaker(one)) as first:
            await triage_service.match(first, time.time())
            held = await first.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :k"),
                {"k": MATCH_LOCK_KEY},
            )
            assert held.scalar_one() == 1

            async def second_match() -> None:
                async with transaction(make_sessionmaker(two)) as session:
                    await triage_service.match(session, time.time())

            waiting = asyncio.create_task(second_match())
            await asyncio.sleep(0.5)
            assert not waiting.done()  # blocked on the lock while the first is open
        await asyncio.wait_for(waiting, 10)  # and through once it committed
    finally:
        await one.dispose()
        await two.dispose()
