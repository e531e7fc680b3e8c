"""The staff sweep counts a console's silence only while the database could be reached: a
database blip must not end every shift (issue "Nobody waits for nobody", the 20 s outage)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from app.db import make_engine, make_sessionmaker, transaction
from app.events.broker import MemoryBroker
from app.models import Staff
from app.staff.shifts import StaffSweep
from app.triage.dispatcher import Dispatcher
from app.triage.setup import load_setup
from tests.conftest import Database, _create_staff

TIMEOUT = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Flaky:
    """A sessionmaker that fails like a stopped database while ``down``."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.down = False

    def __call__(self) -> Any:
        if self.down:
            raise OperationalError("connect", {}, ConnectionRefusedError("database is down"))
        return self.real()


@asynccontextmanager
async def _world(database: Database) -> AsyncIterator[tuple[Any, Flaky, Clock, StaffSweep]]:
    engine = make_engine(database.settings())
    sessionmaker = make_sessionmaker(engine)
    flaky, clock = Flaky(sessionmaker), Clock()
    broker = MemoryBroker()
    settings = database.settings()
    dispatcher = Dispatcher(flaky, broker, clock, setup=load_setup(settings))  # type: ignore[arg-type]
    sweep = StaffSweep(flaky, broker, clock, dispatcher, timeout=TIMEOUT)  # type: ignore[arg-type]
    try:
        yield sessionmaker, flaky, clock, sweep
    finally:
        await engine.dispose()


async def _on_duty(sessionmaker: Any, staff_id: str, heartbeat_at: float) -> None:
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(Staff)
            .where(Staff.id == staff_id)
            .values(on_duty=True, heartbeat_at=heartbeat_at)
        )


async def _is_on_duty(sessionmaker: Any, staff_id: str) -> bool:
    async with sessionmaker() as session:
        staff = await session.get(Staff, staff_id)
        assert staff is not None
        return bool(staff.on_duty)


@pytest.mark.parametrize("outage", [False, True])
async def test_silence_counts_only_while_the_database_is_up(
    database: Database, outage: bool
) -> None:
    account = await _create_staff(database, "sara", "Sara")
    async with _world(database) as (sessionmaker, flaky, clock, sweep):
        await _on_duty(sessionmaker, account.staff_id, heartbeat_at=95.0)
        clock.now = 100.0
        if outage:
            flaky.down = True
            await sweep()  # fails, as the console's heartbeats do meanwhile
            flaky.down = False
        clock.now = 130.0  # the last stored heartbeat is 35 s old
        await sweep()
        assert await _is_on_duty(sessionmaker, account.staff_id) is outage
        clock.now = 159.0  # 29 s of a working database since the outage: still its shift
        await sweep()
        assert await _is_on_duty(sessionmaker, account.staff_id) is outage
        clock.now = 161.0  # silent for a whole timeout with the database up: off duty
        await sweep()
        assert await _is_on_duty(sessionmaker, account.staff_id) is False
