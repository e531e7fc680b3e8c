"""The dispatcher chore that forgets what login no longer needs (issue 13 (3)): login failures
older than the failure window and staff sessions past their idle or absolute limit.

Each login also prunes its own name's old failures (``service._reserve``); this chore removes
the rest, so ``login_failures`` never holds more than one window of attempts.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import is_outage, transaction
from app.kit.clock import Clock
from app.security import repository as repo

log = logging.getLogger(__name__)

#: Seconds between two prunes.
INTERVAL = 60.0


async def prune(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, now: float
) -> tuple[int, int]:
    """Delete old failures and expired sessions; how many of each."""
    async with transaction(sessionmaker) as session:
        failures = await repo.prune_failures(session, now - settings.login_failure_window_seconds)
        sessions = await repo.prune_sessions(
            session,
            # Twice the idle limit: an open console's socket activity reaches the row only every
            # few seconds, and a session already expired is refused by ``authenticate`` anyway.
            seen_before=now - 2 * settings.session_idle_seconds,
            created_before=now - settings.session_absolute_seconds,
        )
    return failures, sessions


class LoginPrune:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
        *,
        interval: float = INTERVAL,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._clock = clock
        self._interval = interval
        self._last: float | None = None

    async def __call__(self) -> None:
        now = self._clock()
        if self._last is not None and now - self._last < self._interval:
            return
        self._last = now
        try:
            await prune(self._sessionmaker, self._settings, now)
        except Exception as exc:
            if is_outage(exc):
                log.warning("login prune: database unavailable (%s)", type(exc).__name__)
            else:
                log.exception("login prune failed")
