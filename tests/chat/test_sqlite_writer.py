"""The SQLite writer's own wait for the write lock (``app/chat/store.py`` ``_SqliteWriter``):
it takes the lock as soon as another transaction ends, instead of SQLite's busy handler sleeping
up to tens of milliseconds, and still gives up after its deadline; and the same for the shared
engine's write transactions (``app/db.py``). Plain SQLite files; no server."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app import db
from app.chat.store import _SqliteWriter
from app.db import make_engine, make_sessionmaker, transaction
from tests.conftest import database_of

ROW = {"conv_id": "c", "seg": 0, "role": "Y", "inst": "i", "seq": 1, "ct": "x", "sig": None}


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "envelopes.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE envelopes (conv_id TEXT, seg INT, role TEXT, inst TEXT, seq INT,"
            " ct TEXT, sig TEXT, PRIMARY KEY (conv_id, seg, role, inst, seq))"
        )
    return path


def _hold_lock(path: Path, seconds: float) -> threading.Thread:
    """Another connection holds the write lock for ``seconds`` (a heartbeat, a join)."""
    held = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait()
    return thread


def test_a_batch_waits_for_another_transaction_and_commits_after_it(tmp_path: Path) -> None:
    path = _file(tmp_path)
    writer = _SqliteWriter(str(path))
    holder = _hold_lock(path, 0.2)
    start = time.monotonic()
    inserted = writer._insert([ROW])  # busy_timeout is 0: without its own wait this raises
    waited = time.monotonic() - start
    holder.join()
    assert inserted == {("c", 0, "Y", "i", 1)}
    assert waited >= 0.15  # it did wait for the other transaction
    assert writer._insert([ROW]) == set()  # stored once


def test_a_lock_held_past_the_deadline_fails_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "LOCK_WAIT_SECONDS", 0.05)
    path = _file(tmp_path)
    writer = _SqliteWriter(str(path))
    holder = _hold_lock(path, 0.5)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        writer._insert([ROW])
    holder.join()
    assert writer._insert([ROW]) == {("c", 0, "Y", "i", 1)}  # and works again afterwards


# ---------------------------------------------------------------------- the shared engine


async def test_a_transaction_waits_for_the_lock_without_stopping_the_event_loop(
    tmp_path: Path,
) -> None:
    """``app.db``'s ``BEGIN IMMEDIATE`` asks again while another connection holds the lock
    (the connections' busy_timeout is 0), and the event loop runs meanwhile."""
    with database_of("sqlite", tmp_path) as database:
        assert database.path is not None
        with sqlite3.connect(database.path) as raw:
            raw.execute("PRAGMA journal_mode=WAL")  # as every database of the app is
            raw.execute("CREATE TABLE t (x INT)")
        engine = make_engine(database.settings())
        try:
            sessionmaker = make_sessionmaker(engine)
            ticks = 0

            async def tick() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            ticker = asyncio.create_task(tick())
            holder = _hold_lock(database.path, 0.3)
            async with transaction(sessionmaker) as session:
                await session.execute(text("INSERT INTO t VALUES (1)"))
            ticker.cancel()
            holder.join()
            assert ticks >= 10  # the loop went on while the transaction waited
            async with sessionmaker() as session:
                assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 1
        finally:
            await engine.dispose()


async def test_a_transaction_gives_up_after_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "LOCK_WAIT_SECONDS", 0.05)
    with database_of("sqlite", tmp_path) as database:
        assert database.path is not None
        with sqlite3.connect(database.path) as raw:
            raw.execute("PRAGMA journal_mode=WAL")  # as every database of the app is
            raw.execute("CREATE TABLE t (x INT)")
        engine = make_engine(database.settings())
        try:
            holder = _hold_lock(database.path, 0.5)
            with pytest.raises(OperationalError, match="locked"):
                async with transaction(make_sessionmaker(engine)) as session:
                    await session.execute(text("INSERT INTO t VALUES (1)"))
            holder.join()
        finally:
            await engine.dispose()
