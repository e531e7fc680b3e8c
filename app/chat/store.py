"""The ciphertext store: envelopes persisted with group commit, read back for resume.

``append`` returns only after the envelope's transaction has committed, so an ack sent after it
is a promise kept (P-5). Envelopes that arrive while a commit is in flight wait and go together
in the next transaction: under load one fsync covers many envelopes, at rest each goes alone.

On a SQLite file the writer owns a plain ``sqlite3`` connection in a thread of its own and
commits a whole batch in one hop to that thread; through SQLAlchemy's async layer the same batch
costs several hops and most of the relay's CPU at low batch sizes. Other databases go through
SQLAlchemy. Reads (resume, sync) always use the shared engine.

Its statements stay here rather than in ``repository.py`` (which holds every other SQL statement
of the package): the writer owns its connections, not a session, and its insert exists twice, as
a dialect-specific SQLAlchemy statement and as the plain SQL of the sqlite3 thread, which must
agree column for column and in conflict handling. Splitting them from the batching that depends
on their ``RETURNING``/``rowcount`` contract would split one job across two modules, and routing
the hot path through session-based repository functions would add the very hops this module
exists to avoid. ``read`` is the writer's twin on the shared engine's plain connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection

from app.chat.envelope import Envelope
from app.db import SQLITE_PRAGMAS
from app.models import Envelope as EnvelopeRow

log = logging.getLogger(__name__)
_TABLE = EnvelopeRow.__table__

_Pending = tuple[Envelope, "asyncio.Future[bool]"]


class StoreUnavailable(Exception):
    """The database did not take the envelope; nothing was acknowledged, the client may resend."""


class EnvelopeStore:
    def __init__(self, engine: AsyncEngine, *, batch_max: int = 256) -> None:
        self._engine = engine
        self._batch_max = batch_max
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        key = (_TABLE.c.conv_id, _TABLE.c.seg, _TABLE.c.role, _TABLE.c.inst, _TABLE.c.seq)
        self._insert = dialect.insert(_TABLE).on_conflict_do_nothing().returning(*key)
        path = engine.url.database if engine.dialect.name == "sqlite" else None
        self._sqlite = _SqliteWriter(path) if path and not path.startswith(":memory:") else None
        self.batches = 0
        self.stored = 0

    async def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name="envelope-writer")

    async def close(self) -> None:
        """Finish what is queued, then stop the writer."""
        if self._writer is None:
            return
        await self._queue.join()
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._writer = None
        if self._sqlite is not None:
            await self._sqlite.close()

    def submit(self, envelope: Envelope) -> asyncio.Future[bool]:
        """Queue ``envelope`` for the next commit; the future resolves after that commit.

        Result: True if the envelope is new, False if it was stored before (a resend); the
        exception ``StoreUnavailable`` when the database refused the batch. Futures resolve in
        submission order, so done-callbacks run in the order envelopes were submitted.
        """
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((envelope, future))
        return future

    async def append(self, envelope: Envelope) -> bool:
        """``submit`` and wait for the commit."""
        return await self.submit(envelope)

    async def read(self, conv_id: str) -> list[Envelope]:
        """Every stored envelope of a conversation, in the order they were stored."""
        query = (
            select(
                _TABLE.c.seg, _TABLE.c.role, _TABLE.c.inst, _TABLE.c.seq, _TABLE.c.ct, _TABLE.c.sig
            )
            .where(_TABLE.c.conv_id == conv_id)
            .order_by(_TABLE.c.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            Envelope(
                conv=conv_id, seg=r.seg, role=r.role, inst=r.inst, seq=r.seq, ct=r.ct, sig=r.sig
            )
            for r in rows
        ]

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch_max and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _insert_rows(self, params: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
        if self._sqlite is not None:
            return await self._sqlite.insert(params)
        async with self._engine.begin() as conn:
            result = await conn.execute(self._insert, params)
            return {tuple(row) for row in result.all()}

    async def _commit(self, batch: list[_Pending]) -> None:
        unique: dict[tuple[str, int, str, str, int], Envelope] = {}
        for envelope, _ in batch:
            unique.setdefault(envelope.key, envelope)
        params: list[dict[str, Any]] = [
            {
                "conv_id": e.conv,
                "seg": e.seg,
                "role": e.role,
                "inst": e.inst,
                "seq": e.seq,
                "ct": e.ct,
                "sig": e.sig,
            }
            for e in unique.values()
        ]
        try:
            inserted = await self._insert_rows(params)
        except Exception as exc:
            if len(params) == 1 or not isinstance(exc, IntegrityError | sqlite3.IntegrityError):
                log.warning("envelope not stored: %s", type(exc).__name__)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(StoreUnavailable())
                return
            # One bad row (say, its conversation was deleted meanwhile) must not fail the
            # others: retry one by one, so only the envelopes that cannot be stored are refused.
            log.warning(
                "envelope batch of %d failed (%s); retrying singly", len(params), type(exc).__name__
            )
            by_key: dict[tuple[str, int, str, str, int], list[_Pending]] = {}
            for pending in batch:
                by_key.setdefault(pending[0].key, []).append(pending)
            for group in by_key.values():
                await self._commit(group)
            return
        self.batches += 1
        self.stored += len(inserted)
        for envelope, future in batch:
            if future.done():  # the sender went away while waiting
                continue
            new = envelope.key in inserted
            # Only the first copy of a key within one batch counts as new.
            inserted.discard(envelope.key)
            future.set_result(new)


#: Rows per INSERT statement of the sqlite3 writer: one statement inserts them all and returns
#: the keys of the new ones, instead of one statement (and one rowcount) per envelope.
_SQLITE_ROWS = 128
#: How long the writer waits for SQLite's write lock, and how often it asks meanwhile. SQLite's
#: own busy handler sleeps 1, 2, 5, 10, 15, 20, 25… ms between tries, so a batch that met
#: another transaction (a console's heartbeat, a join) waited up to tens of milliseconds after
#: the lock was free again: P-3's p99. Asking every 0.2 ms costs nothing next to an fsync.
_LOCK_WAIT_SECONDS = 10.0
_LOCK_POLL_SECONDS = 0.0002
_SQLITE_COLUMNS = ("conv_id", "seg", "role", "inst", "seq", "ct", "sig")


@functools.lru_cache(maxsize=_SQLITE_ROWS)
def _sqlite_insert(rows: int) -> str:
    """The sqlite3 writer's INSERT of ``rows`` envelopes; RETURNING names the new ones only
    (``DO NOTHING`` skips a stored key), as the SQLAlchemy statement's RETURNING does."""
    values = ",".join(["(?,?,?,?,?,?,?)"] * rows)  # placeholders only: the values are bound
    head = "INSERT INTO envelopes (conv_id, seg, role, inst, seq, ct, sig) VALUES "
    return head + values + " ON CONFLICT DO NOTHING RETURNING conv_id, seg, role, inst, seq"


class _SqliteWriter:
    """A plain sqlite3 connection used by one thread only: one hop per batch."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="envelope-sqlite")
        self._conn: sqlite3.Connection | None = None

    async def insert(self, params: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
        """Insert in one transaction; the keys of the rows that were new. Raises on failure."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._insert, params)

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, timeout=10)
            for pragma in SQLITE_PRAGMAS:
                conn.execute(pragma)
            conn.execute("PRAGMA busy_timeout=0")  # _begin waits for the lock itself
            self._conn = conn
        return self._conn

    @staticmethod
    def _begin(conn: sqlite3.Connection) -> None:
        deadline = time.monotonic() + _LOCK_WAIT_SECONDS
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                busy = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
                if not busy or time.monotonic() > deadline:
                    raise
            time.sleep(_LOCK_POLL_SECONDS)

    def _insert(self, params: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
        conn = self._connect()
        inserted: set[tuple[Any, ...]] = set()
        self._begin(conn)
        try:
            for start in range(0, len(params), _SQLITE_ROWS):
                chunk = params[start : start + _SQLITE_ROWS]
                flat = [row[column] for row in chunk for column in _SQLITE_COLUMNS]
                returned = conn.execute(_sqlite_insert(len(chunk)), flat).fetchall()
                inserted.update(tuple(key) for key in returned)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return inserted

    async def close(self) -> None:
        def _close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._executor, _close)
        self._executor.shutdown(wait=True)


def get_store(conn: HTTPConnection) -> EnvelopeStore:
    """This process's EnvelopeStore, created by the app factory's lifespan."""
    found: EnvelopeStore = conn.app.state.store
    return found
