"""Async engine, sessions and the one transaction boundary per request.

SQLite runs in WAL mode with ``secure_delete=ON`` (deleted pages are zeroed) and
``synchronous=FULL`` (an acknowledged envelope survives a power cut). Every SQLite transaction
starts with ``BEGIN IMMEDIATE`` so that read-then-write sections, such as matching, are serialised
across connections and processes instead of failing on lock upgrade.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc, text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app import writeturns
from app.config import DEFAULT_SQLITE_URL, Settings
from app.kit.files import private_database, private_directory

log = logging.getLogger(__name__)

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA secure_delete=ON",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
    "PRAGMA cache_size=-512",
)

#: The folder of the default database (``./var``): ours, so made owner-only even if it exists.
OWN_DIRECTORY = Path(DEFAULT_SQLITE_URL.split("///", 1)[1]).parent

#: Execution option of ``snapshot`` sessions (SQLite: plain BEGIN instead of BEGIN IMMEDIATE).
READ_ONLY = "vh_read_only"

#: Key of the PostgreSQL advisory transaction lock that serialises matching (DESIGN.md §5).
MATCH_LOCK_KEY = 0x56484D41  # "VHMA"


def make_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        path = settings.sqlite_path()
        if path is not None:
            # Owner-only (issue 13): the file holds TOTP secrets and wraps; SQLite gives the WAL
            # and shared-memory files the database file's mode.
            private_directory(path.parent, tighten=path.parent == OWN_DIRECTORY)
            for loose in private_database(path):
                log.warning("%s was readable by others: now owner-only (0600)", loose)
        engine = create_async_engine(
            settings.database_url, connect_args={"timeout": 10}, hide_parameters=True
        )
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        settings.database_url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        hide_parameters=True,  # SQL parameters never reach an exception message or a log
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the driver so that BEGIN IMMEDIATE is ours to emit.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    turns = writeturns.install(engine)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # ``snapshot`` reads opt out: in WAL mode a deferred read neither takes nor waits for
        # the write lock.
        if conn.get_execution_options().get(READ_ONLY, False):
            conn.exec_driver_sql("BEGIN")
            return
        turns.take(conn)  # this process's writers ask SQLite in turn (app/writeturns.py)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            turns.give_back(conn.connection)
            raise


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def snapshot(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A read-only unit of work that must not write. On SQLite it is a deferred transaction, so
    a large read (the queue's position pass over thousands of tickets) never holds up writers;
    elsewhere the same as a plain session."""
    async with sessionmaker() as session:
        await session.connection(execution_options={READ_ONLY: True})
        yield session


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any exception. Services never commit."""
    async with sessionmaker() as session, session.begin():
        yield session


async def lock_matching(session: AsyncSession) -> None:
    """Serialise matching across processes for the rest of this transaction.

    SQLite needs nothing more: its BEGIN IMMEDIATE already holds the database's write lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MATCH_LOCK_KEY})


async def ping(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT 1"))


#: Errors that mean the database cannot take work now (down, restarting, connection lost or
#: refused, pool exhausted, SQLite busy), as opposed to a bug or bad data.
_OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    exc.TimeoutError,
    ConnectionError,
    TimeoutError,
)


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) means the database is unreachable right now.

    Callers answer 503 ``unavailable`` (HTTP) or an ``unavailable`` error frame (sockets) and
    let the client try again; the engine's pool reconnects by itself once the database is back.
    """
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, _OUTAGE_TYPES):
            return True
        if isinstance(seen, exc.DBAPIError) and seen.connection_invalidated:
            return True
        if type(seen).__module__.startswith("asyncpg") and type(seen).__name__ in _ASYNCPG_OUTAGES:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


#: asyncpg's names for a lost or refused connection (matched by name: asyncpg is optional).
_ASYNCPG_OUTAGES = frozenset(
    {
        "ConnectionDoesNotExistError",
        "CannotConnectNowError",
        "ConnectionFailureError",
        "PostgresConnectionError",
        "ConnectionRejectionError",
        "AdminShutdownError",
        "CrashShutdownError",
    }
)
