"""The queue at a glance pushed to counsellors' consoles (issue 11 §1): one feed per process.

While at least one console watches, the feed reads the waiting tickets, who is on duty and the
watchers' routing profiles once a second — one snapshot for every watcher of the process — and
hands each watcher its own view (``glance``: which rows *they* can serve). A profile is read
again every second, so an admin's edit of skills or languages shows at once. Like the board
(``live.BoardFeed``), times are absolute and the page counts waits on in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from app.db import is_outage, snapshot
from app.kit.clock import Clock
from app.supervision import glance
from app.supervision import repository as repo
from app.triage import engine, hours
from app.triage import repository as triage_repo
from app.triage.setup import TriageSetup

log = logging.getLogger(__name__)

#: Seconds between two reads while someone watches.
INTERVAL = 1.0

Watcher = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Snapshot:
    now: float
    is_open: bool
    tickets: tuple[engine.WaitingTicket, ...]
    on_duty: tuple[engine.OnDutyCounsellor, ...]
    profiles: dict[str, glance.Profile]


class QueueFeed:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        setup: Callable[[], TriageSetup],
        *,
        interval: float = INTERVAL,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._setup = setup
        self._interval = interval
        self._watchers: dict[int, tuple[str, Watcher]] = {}
        self._next_id = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def watch(self, staff_id: str, watcher: Watcher) -> Callable[[], None]:
        """Call ``watcher`` with ``staff_id``'s view of the queue from now on (the first at
        once, then about once a second); returns the function that stops it."""
        self._next_id += 1
        token = self._next_id
        self._watchers[token] = (staff_id, watcher)
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

        def stop() -> None:
            self._watchers.pop(token, None)

        return stop

    async def close(self) -> None:
        self._watchers.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def read(self, staff_ids: list[str]) -> Snapshot:
        now = self._clock()
        async with snapshot(self._sessionmaker) as session:
            tickets = await triage_repo.waiting_tickets(session, present_only=False)
            on_duty = await triage_repo.on_duty_counsellors(session)
            profiles = await repo.routing_profiles(session, staff_ids)
        is_open = hours.is_open(self._setup().schedule, datetime.fromtimestamp(now, UTC))
        return Snapshot(now, is_open, tuple(tickets), tuple(on_duty), profiles)

    async def _run(self) -> None:
        while self._watchers:
            watching = list(self._watchers.values())
            try:
                seen = await self.read(sorted({staff_id for staff_id, _ in watching}))
            except Exception as exc:
                if not is_outage(exc):
                    log.exception("queue feed: reading the queue failed")
                seen = None
            if seen is not None:
                views = _views(seen)
                for staff_id, watcher in watching:
                    watcher(views(seen.profiles.get(staff_id)))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)


def _views(seen: Snapshot) -> Callable[[glance.Profile | None], dict[str, Any]]:
    """Each distinct profile's view, computed once however many consoles share it."""
    cache: dict[glance.Profile | None, dict[str, Any]] = {}

    def view(profile: glance.Profile | None) -> dict[str, Any]:
        if profile not in cache:
            found = glance.rows(seen.tickets, seen.on_duty, profile)
            cache[profile] = glance.glance(found, profile, now=seen.now, is_open=seen.is_open)
        return cache[profile]

    return view


def get_queue_feed(conn: HTTPConnection) -> QueueFeed:
    feed: QueueFeed = conn.app.state.queue_feed
    return feed
