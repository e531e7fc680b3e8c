"""SQLite write transactions of one process take the write lock in turn, in the order they asked.

SQLite has one write lock per database file, and a connection that finds it taken sleeps in its
busy handler (1, 2, 5 … 100 ms between tries) until it is free. Under a burst (250 young people
resuming at once after a restart) that is unfair: a newcomer, still sleeping a millisecond at a
time, takes the lock ahead of transactions that have slept 100 ms at a time for seconds, until
one of them reaches the busy timeout and its young person is told ``unavailable``. Here the
engine's write transactions first queue on an asyncio lock of this process (first come, first
served; the waiter keeps the connection it checked out, but no thread sleeps for it), so that
at SQLite's level only one of them at a time asks for the file's lock, against the envelope
writer and other processes. Reads (``app.db.snapshot``) do not queue: in WAL mode they never
wait for a writer.

The turn is taken in the ``begin`` event, before ``BEGIN IMMEDIATE``, and given back after the
commit or rollback has finished (the dialect's ``do_commit``/``do_rollback``/``do_close``), so
the next transaction does not meet the lock still held by the commit's fsync.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import await_only, in_greenlet

from app.kit import eager

#: Longest a write transaction waits for its turn, as long as SQLite's busy timeout: past it the
#: caller gets ``TimeoutError`` (an outage: ``unavailable``), as it would get "database is
#: locked" from SQLite.
TURN_WAIT = 10.0


class WriteTurns:
    """The turns of one engine's write transactions, per event loop."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        #: The lock each DBAPI connection holds now (by ``id``), to give back after its commit.
        self._held: dict[int, asyncio.Lock] = {}

    def take(self, conn: Connection) -> None:
        """Wait for this transaction's turn (called from the ``begin`` event, in SQLAlchemy's
        greenlet). A synchronous use of the engine (no greenlet) does not queue."""
        if not in_greenlet():
            return
        key = id(conn.connection.dbapi_connection)
        if key in self._held:  # a second transaction on a connection that still holds its turn
            return
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        waiting = eager.start(lock.acquire())  # free: taken at once, no task, no loop trip
        if waiting is not None:
            await_only(asyncio.wait_for(_finish(waiting), TURN_WAIT))
        self._held[key] = lock

    def give_back(self, connection: Any) -> None:
        """Give back the turn ``connection`` (a DBAPI connection, or the pool's proxy of one)
        holds, if any."""
        dbapi_connection = getattr(connection, "dbapi_connection", connection)
        lock = self._held.pop(id(dbapi_connection), None)
        if lock is not None and lock.locked():
            lock.release()


async def _finish(waiting: eager.Rest) -> None:
    await waiting


def install(engine: AsyncEngine) -> WriteTurns:
    """Give back the turns of ``engine``'s connections after each commit, rollback or close.
    The engine's ``begin`` listener calls ``take`` before it emits ``BEGIN IMMEDIATE`` (and
    ``give_back`` if that fails)."""
    turns = WriteTurns()
    dialect = engine.sync_engine.dialect
    for name in ("do_commit", "do_rollback", "do_close"):
        _give_back_after(dialect, name, turns)
    return turns


def _give_back_after(dialect: Any, name: str, turns: WriteTurns) -> None:
    finish = getattr(dialect, name)

    def finished(dbapi_connection: Any) -> None:
        try:
            finish(dbapi_connection)
        finally:
            turns.give_back(dbapi_connection)

    setattr(dialect, name, finished)
