"""The purge (CRYPTO.md §6; docs/OPERATIONS.md): expiry settled, expired rows deleted, bucket
keys moved on and destroyed. Run by the server every ``VH_PURGE_INTERVAL_SECONDS`` and by
``vhouse purge`` from cron; idempotent, and safe in two processes at once (every step holds the
matching lock, so purges, matching and roll-ups take turns).

One run, in order:
1. the statistics roll-up takes every finished ticket (the aggregates outlive the rows);
2. each ended conversation gets its expiry (its queue's retention after the end, or later if a
   return visit or a later conversation that shared it asks) and moves to that week's bucket;
3. expired conversations go with their envelopes, wraps and grants; then their tickets;
4. open conversations whose bucket key would go soon move to a later bucket, and wraps stored
   before buckets existed are sealed;
5. every bucket key whose week and grace are over is destroyed (zero-filled, fsynced, unlinked,
   audited), after whatever still needs it has moved;
6. on SQLite the WAL is checkpointed and truncated, so deleted pages leave the WAL as well
   (``secure_delete`` has zeroed them in the database file).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.audit import repository as audit_log
from app.chat import repository as chat_repo
from app.chat.retention import DAY, OPEN_MARGIN, RetentionPolicy
from app.chat.sealing import Sealer, device_place, grant_place, period_place, return_place
from app.crypto import bucket
from app.crypto.bucket import Place
from app.db import is_outage, lock_matching, transaction
from app.expiry import repository as repo
from app.kit import weeks
from app.kit.clock import Clock
from app.supervision.rollup import roll_up

log = logging.getLogger(__name__)

#: Conversations (or tickets) handled by one transaction.
BATCH = 200
#: Transactions of one step in one run at most (the rest waits for the next run).
MAX_ROUNDS = 50


@dataclass
class PurgeReport:
    counted: int = 0
    settled: int = 0
    deleted_conversations: int = 0
    deleted_tickets: int = 0
    moved: int = 0
    destroyed_buckets: list[str] = field(default_factory=list)
    #: SQLite's ``(busy, WAL frames, checkpointed)`` after the run; None on other databases.
    checkpoint: tuple[int, int, int] | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def target_week(
    policy: RetentionPolicy,
    *,
    kind: str,
    skill: str | None,
    expires_at: float | None,
    now: float,
) -> str:
    """The bucket a conversation belongs in now: its expiry's week (never a past week), or for
    one not yet settled the week it would expire in if it ended now."""
    if expires_at is not None:
        return policy.bucket_for(max(expires_at, now))
    return policy.open_bucket(kind=kind, skill=skill, now=now)


def _reseal(sealer: Sealer, week: str, stored: str | None, place: Place) -> str | None:
    if stored is None:
        return None
    if bucket.is_sealed(stored) and bucket.week_of_sealed(stored) == week:
        return stored
    plain = sealer.open(stored, place)
    if plain is None:
        log.error("a wrap cannot move: its bucket key is gone (%s)", place.purpose)
        return stored
    return sealer.seal_in(week, place, plain)


async def move(session: AsyncSession, sealer: Sealer, conv_id: str, now: float) -> bool:
    """Seal every wrap of a conversation under the bucket it belongs in now; False if gone."""
    found = await chat_repo.conversation_for_sealing(session, conv_id)
    if found is None:
        return False
    conv, kind, skill = found
    week = target_week(sealer.policy, kind=kind, skill=skill, expires_at=conv.expires_at, now=now)
    segments, returns, grants = await repo.wraps_of(session, conv_id)
    for s in segments:
        s.wrap_c = _reseal(sealer, week, s.wrap_c, device_place(conv_id, s.seg))
        s.wrap_o = _reseal(sealer, week, s.wrap_o, period_place(conv_id, s.seg))
    for r in returns:
        r.wrap = _reseal(sealer, week, r.wrap, return_place(conv_id, r.seg)) or r.wrap
    for g in grants:
        place = grant_place(conv_id, g.from_conv_id, g.seg, g.device_id)
        g.wrap = _reseal(sealer, week, g.wrap, place) or g.wrap
    conv.bucket = week
    await session.flush()
    return True


class Purge:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        engine: AsyncEngine,
        sealer: Sealer,
        *,
        timezone: str,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._engine = engine
        self._sealer = sealer
        self._policy = sealer.policy
        self._timezone = timezone

    async def run(self, now: float) -> PurgeReport:
        report = PurgeReport()
        await self._count(report, now)
        await self._settle(report, now)
        await self._delete(report, now)
        await self._move_on(report, now)
        await self._destroy(report, now)
        if self._engine.dialect.name == "sqlite":
            report.checkpoint = await checkpoint(self._engine)
        return report

    async def _count(self, report: PurgeReport, now: float) -> None:
        for _ in range(MAX_ROUNDS):
            async with transaction(self._sessionmaker) as session:
                added = await roll_up(session, now=now, timezone=self._timezone)
            report.counted += added
            if added == 0:
                return

    async def _settle(self, report: PurgeReport, now: float) -> None:
        for _ in range(MAX_ROUNDS):
            async with transaction(self._sessionmaker) as session:
                await lock_matching(session)
                batch = await repo.unsettled(session, BATCH)
                for conv in batch:
                    expires = self._policy.expires_at(
                        kind=conv.kind,
                        skill=conv.skill,
                        ended_at=conv.closed_at,
                        kept_until=conv.kept_until,
                    )
                    await repo.set_expiry(session, conv.id, expires)
                    # What was shared into this conversation stays readable as long as it is.
                    await chat_repo.keep_until(
                        session, await repo.shared_into(session, conv.id), expires
                    )
                    if conv.bucket is not None and self._policy.needs_moving(
                        bucket=conv.bucket, expires_at=expires, now=now
                    ):
                        report.moved += await move(session, self._sealer, conv.id, now)
            report.settled += len(batch)
            if len(batch) < BATCH:
                return

    async def _delete(self, report: PurgeReport, now: float) -> None:
        for _ in range(MAX_ROUNDS):
            async with transaction(self._sessionmaker) as session:
                await lock_matching(session)
                ids = await repo.expired(session, now, BATCH)
                tickets = await repo.tickets_of(session, ids)
                report.deleted_conversations += await repo.delete_conversations(session, ids)
                report.deleted_tickets += await repo.delete_tickets(session, tickets)
            if len(ids) < BATCH:
                break
        shortest = min([self._policy.days, *self._policy.by_queue.values()])
        for _ in range(MAX_ROUNDS):
            async with transaction(self._sessionmaker) as session:
                await lock_matching(session)
                found = await repo.finished_tickets(session, now - shortest * DAY, BATCH)
                due = [
                    t.id
                    for t in found
                    if t.ended_at + self._policy.days_for(t.kind, t.skill) * DAY <= now
                ]
                report.deleted_tickets += await repo.delete_tickets(session, due)
            if len(found) < BATCH or not due:
                return

    async def _move_on(self, report: PurgeReport, now: float) -> None:
        """Open conversations whose bucket key would go soon, and wraps not sealed yet."""
        soon = weeks.week_of(now + OPEN_MARGIN)
        for _ in range(MAX_ROUNDS):
            async with transaction(self._sessionmaker) as session:
                await lock_matching(session)
                live = await repo.live_in_buckets_up_to(session, soon, BATCH)
                legacy = await repo.not_yet_sealed(session, BATCH)
                moving = list(legacy)
                for conv_id in live:
                    found = await repo.expiry_of(session, conv_id)
                    if found is not None and (
                        found[0] is None
                        or self._policy.needs_moving(bucket=found[0], expires_at=None, now=now)
                    ):
                        moving.append(conv_id)
                for conv_id in dict.fromkeys(moving):
                    report.moved += await move(session, self._sealer, conv_id, now)
            if not moving or (len(live) < BATCH and len(legacy) < BATCH):
                return

    async def _destroy(self, report: PurgeReport, now: float) -> None:
        keys = self._sealer.keys
        for week in keys.weeks():
            if self._policy.destroy_after(week) > now:
                continue
            async with transaction(self._sessionmaker) as session:
                await lock_matching(session)
                for conv_id in await repo.in_bucket(session, week):
                    report.moved += await move(session, self._sealer, conv_id, now)
            async with transaction(self._sessionmaker) as session:
                await lock_matching(session)
                if await repo.in_bucket(session, week):
                    log.error("bucket %s is still needed after moving; kept", week)
                    continue
                if keys.destroy(week):
                    report.destroyed_buckets.append(week)
                    await audit_log.audit(
                        session,
                        staff_id=None,
                        action="keys.bucket_destroyed",
                        detail=json.dumps({"week": week}),
                        now=now,
                    )


async def checkpoint(engine: AsyncEngine) -> tuple[int, int, int] | None:
    """Checkpoint and truncate SQLite's WAL (nothing on other databases); logged if busy."""
    if engine.dialect.name != "sqlite":
        return None
    try:
        async with engine.connect() as conn:
            result = await repo.checkpoint_sqlite(conn)
    except Exception as exc:  # the deletion is committed; the next purge checkpoints again
        log.warning("WAL checkpoint failed (%s)", type(exc).__name__)
        return None
    if result[0]:
        log.warning("WAL checkpoint was busy: deleted pages may stay in the WAL until the next")
    return result


class PurgeChore:
    """The dispatcher chore that runs the purge every ``interval`` seconds; errors are logged
    and the next run tries again."""

    def __init__(self, purge: Purge, clock: Clock, *, interval: float) -> None:
        self._purge = purge
        self._clock = clock
        self._interval = interval
        self._last: float | None = None

    async def __call__(self) -> None:
        now = self._clock()
        if self._last is not None and now - self._last < self._interval:
            return
        self._last = now
        try:
            report = await self._purge.run(now)
        except Exception as exc:
            if is_outage(exc):
                log.warning("purge: database unavailable (%s)", type(exc).__name__)
            else:
                log.exception("purge failed")
            return
        if report.deleted_conversations or report.destroyed_buckets:
            log.info(
                "purge: %d conversations and %d tickets deleted, buckets destroyed: %s",
                report.deleted_conversations,
                report.deleted_tickets,
                ", ".join(report.destroyed_buckets) or "none",
            )
