"""SQLite write transactions of one process take turns (``app/writeturns.py``): a burst of them
longer than SQLite's busy timeout meets no "database is locked", a turn is given back after a
commit, a rollback or a failure, reads never queue, and a turn that never comes is an outage
after ``TURN_WAIT``. A plain SQLite file through ``app.db``; no server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import db, writeturns
from app.config import Settings
from app.db import is_outage, make_engine, make_sessionmaker, snapshot, transaction


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncEngine:
    eng = make_engine(Settings(mode="test", database_url=f"sqlite+aiosqlite:///{tmp_path}/t.db"))
    async with eng.begin() as conn:
        await conn.execute(text("CREATE TABLE log (n INTEGER)"))
    yield eng  # type: ignore[misc]
    await eng.dispose()


async def test_a_burst_longer_than_the_busy_timeout_is_served_without_locked_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite's busy timeout cut to 0.2 s: the burst below lasts longer than that. Each writer
    # still asks SQLite only when it is its turn, so none of them meets the timeout (without
    # the turns, the 15 pooled connections sleep in the busy handler and some get "database
    # is locked").
    pragmas = tuple(p.replace("busy_timeout=10000", "busy_timeout=200") for p in db.SQLITE_PRAGMAS)
    monkeypatch.setattr(db, "SQLITE_PRAGMAS", pragmas)
    eng = make_engine(Settings(mode="test", database_url=f"sqlite+aiosqlite:///{tmp_path}/b.db"))
    try:
        async with eng.begin() as conn:
            await conn.execute(text("CREATE TABLE log (n INTEGER)"))
        sm = make_sessionmaker(eng)

        async def write(n: int) -> None:
            async with transaction(sm) as session:
                await session.execute(text("INSERT INTO log VALUES (:n)"), {"n": n})
                await asyncio.sleep(0.005)  # holds the write lock, as a real transaction does

        results = await asyncio.gather(*(write(n) for n in range(100)), return_exceptions=True)
        assert [r for r in results if r is not None] == []
        async with snapshot(sm) as session:
            count = (await session.execute(text("SELECT count(*) FROM log"))).scalar_one()
        assert count == 100
    finally:
        await eng.dispose()


async def test_a_rolled_back_or_failed_writer_gives_its_turn_back(engine: AsyncEngine) -> None:
    sm = make_sessionmaker(engine)

    async def fails_midway() -> None:
        async with transaction(sm) as session:
            await session.execute(text("INSERT INTO log VALUES (1)"))
            raise ZeroDivisionError

    async def bad_statement() -> None:
        async with transaction(sm) as session:
            await session.execute(text("INSERT INTO nowhere VALUES (1)"))

    with pytest.raises(ZeroDivisionError):
        await fails_midway()
    with pytest.raises(Exception, match="no such table"):
        await bad_statement()
    async with asyncio.timeout(2):  # the next writer is not kept waiting for TURN_WAIT
        async with transaction(sm) as session:
            await session.execute(text("INSERT INTO log VALUES (2)"))
    async with snapshot(sm) as session:
        rows = (await session.execute(text("SELECT n FROM log"))).scalars().all()
    assert list(rows) == [2]


async def _holding_a_turn(sm: async_sessionmaker[AsyncSession], done: asyncio.Event) -> Any:
    """A writer that has inserted row 1 and holds its turn (and the lock) until ``done``."""
    holding = asyncio.Event()

    async def hold() -> None:
        async with transaction(sm) as session:
            await session.execute(text("INSERT INTO log VALUES (1)"))
            holding.set()
            await done.wait()

    holder = asyncio.create_task(hold())
    await holding.wait()
    return holder


async def test_reads_do_not_wait_for_a_writer(engine: AsyncEngine) -> None:
    sm = make_sessionmaker(engine)
    done = asyncio.Event()
    holder = await _holding_a_turn(sm, done)
    async with asyncio.timeout(2), snapshot(sm) as session:
        count = (await session.execute(text("SELECT count(*) FROM log"))).scalar_one()
    assert count == 0  # the writer's row is not committed yet
    done.set()
    await holder


async def test_a_turn_that_never_comes_is_an_outage(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writeturns, "TURN_WAIT", 0.2)
    sm = make_sessionmaker(engine)
    done = asyncio.Event()
    holder = await _holding_a_turn(sm, done)
    with pytest.raises(TimeoutError) as raised:
        async with transaction(sm) as session:
            await session.execute(text("INSERT INTO log VALUES (2)"))
    assert is_outage(raised.value)
    done.set()
    await holder
    async with transaction(sm) as session:  # and the turns go on afterwards
        await session.execute(text("INSERT INTO log VALUES (3)"))
    async with snapshot(sm) as session:
        rows = (await session.execute(text("SELECT n FROM log ORDER BY n"))).scalars().all()
    assert list(rows) == [1, 3]
