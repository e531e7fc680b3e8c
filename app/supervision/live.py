"""The live board pushed to supervisors' consoles (issue 11): one feed per process.

While at least one supervisor watches, the feed reads the board once a second and hands the
same text to every watcher, so ten open boards cost one query a second, and a change (a join, a
pairing, a counsellor going off duty, an alert) is on every board within about a second. Times
on the board are absolute, so a page counts waits and durations on by itself in between.
Acknowledgements of alerts that no longer fire are forgotten here (the next episode asks again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from app.db import is_outage, snapshot, transaction
from app.kit.clock import Clock
from app.supervision import alerts, service
from app.supervision import repository as repo
from app.triage.setup import TriageSetup

log = logging.getLogger(__name__)

#: Seconds between two reads of the board while someone watches.
INTERVAL = 1.0

Watcher = Callable[[dict[str, Any]], None]


class BoardFeed:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        setup: Callable[[], TriageSetup],
        thresholds: Callable[[], alerts.Thresholds],
        *,
        interval: float = INTERVAL,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        #: The centre's setup and alert thresholds now (both may change while running).
        self._setup = setup
        self._thresholds = thresholds
        self._interval = interval
        self._watchers: dict[int, Watcher] = {}
        self._next_id = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        #: The alert keys of the last board read (None: none read yet, or pruning failed).
        self._firing: set[str] | None = None

    def watch(self, watcher: Watcher) -> Callable[[], None]:
        """Call ``watcher`` with each board from now on (the first at once); returns the
        function that stops it."""
        self._next_id += 1
        token = self._next_id
        self._watchers[token] = watcher
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

        def stop() -> None:
            self._watchers.pop(token, None)

        return stop

    def poke(self) -> None:
        """Read the board now rather than at the next tick (after an acknowledgement)."""
        self._wake.set()

    async def close(self) -> None:
        self._watchers.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def read(self) -> dict[str, Any]:
        async with snapshot(self._sessionmaker) as session:
            return await service.live_board(
                session, self._setup(), self._thresholds(), self._clock()
            )

    async def _run(self) -> None:
        while self._watchers:
            try:
                board = await self.read()
            except Exception as exc:
                if not is_outage(exc):
                    log.exception("board feed: reading the board failed")
                board = None
            if board is not None:
                for watcher in list(self._watchers.values()):
                    watcher(board)
                await self._prune(board)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)

    async def _prune(self, board: dict[str, Any]) -> None:
        """Forget acknowledgements once their alerts stop firing. Acknowledgements are only
        made for firing alerts, so there is something to forget only when an alert has
        cleared since the last board (or, the first time, from before this feed ran)."""
        firing = {a["key"] for a in board["alerts"]}
        cleared = self._firing is None or bool(self._firing - firing)
        self._firing = firing
        if not cleared:
            return
        try:
            async with transaction(self._sessionmaker) as session:
                await repo.prune_alert_acks(session, firing)
        except Exception as exc:
            self._firing = None  # try again with the next board
            if not is_outage(exc):
                log.exception("board feed: forgetting old acknowledgements failed")


def get_board_feed(conn: HTTPConnection) -> BoardFeed:
    feed: BoardFeed = conn.app.state.board_feed
    return feed
