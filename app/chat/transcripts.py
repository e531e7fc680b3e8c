"""The ciphertext store: envelopes persisted with group commit, read back for resume.

``append`` returns only after the envelope's transaction has committed, so an ack sent after it
is a promise kept (P-5). Envelopes that arrive while a commit is in flight wait and go together
in the next transaction: under load one fsync covers many envelopes, at rest each goes alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.chat.protocol import Envelope
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
            select(_TABLE.c.seg, _TABLE.c.role, _TABLE.c.inst, _TABLE.c.seq, _TABLE.c.ct)
            .where(_TABLE.c.conv_id == conv_id)
            .order_by(_TABLE.c.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            Envelope(conv=conv_id, seg=r.seg, role=r.role, inst=r.inst, seq=r.seq, ct=r.ct)
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
            }
            for e in unique.values()
        ]
        try:
            inserted = await self._insert_rows(params)
        except Exception as exc:
            if len(params) == 1 or not isinstance(exc, IntegrityError):
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
