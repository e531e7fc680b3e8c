"""What stands in front of the password hash (SECURITY R-9, issue 13): the server secret, a
login limit per client bucket, and a bound on the argon2 work running and waiting at once.

Everything here is in this process's memory: the client bucket is a keyed hash of the address
(``AppState.client_bucket``), never the address, and is never stored or logged (S-15).

Argon2 takes tens of milliseconds of a whole core. Without a bound, a burst of logins fills
the thread pool and every core, and the relay's event loop starves. So at most ``concurrency``
hashes run at once (one fewer than the CPUs, at least one), and at most ``queue_max`` logins are
in progress (waiting for their database turn or a hash slot); one more is answered 503
``login_busy`` at once instead of joining an unbounded queue.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from app.config import Settings
from app.kit.errors import TooManyRequests, Unavailable
from app.kit.ratelimit import KeyedWindows
from app.security import passwords

#: Seconds a ``login_busy`` client is asked to wait.
BUSY_RETRY_AFTER = 2
ATTEMPT_WINDOW_SECONDS = 60.0


class LoginBusy(Unavailable):
    code = "login_busy"


class LoginRateLimited(TooManyRequests):
    code = "login_rate_limited"


def default_concurrency() -> int:
    return max(1, (os.cpu_count() or 1) - 1)


class HashGate:
    """Admission to the password check and the slots of the hash itself."""

    def __init__(
        self, *, concurrency: int, queue_max: int, on_check: Callable[[], None] | None = None
    ) -> None:
        self.concurrency = concurrency
        self.queue_max = queue_max
        self._slots = asyncio.Semaphore(concurrency)
        self._in_progress = 0
        self._on_check = on_check

    @property
    def in_progress(self) -> int:
        return self._in_progress

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        """One login in progress; ``LoginBusy`` at once when ``queue_max`` already are."""
        if self._in_progress >= self.queue_max:
            raise LoginBusy(
                "too many logins at once; try again in a moment",
                headers={"Retry-After": str(BUSY_RETRY_AFTER)},
            )
        self._in_progress += 1
        try:
            yield
        finally:
            self._in_progress -= 1

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """``passwords.verify_password`` in a thread, in one of the slots. A cancelled caller
        keeps its slot until the hash in the thread has finished (the CPU is still busy)."""
        async with self._slots:
            if self._on_check is not None:
                self._on_check()
            work = asyncio.ensure_future(
                asyncio.to_thread(passwords.verify_password, password_hash, password)
            )
            try:
                return await asyncio.shield(work)
            except asyncio.CancelledError:
                await asyncio.wait({work})
                raise


@dataclass
class LoginGuard:
    #: The server secret (``app.security.secret``): keys session and login-name digests.
    secret: bytes
    #: Login attempts per client bucket per minute.
    attempts: KeyedWindows
    hashes: HashGate

    def check_bucket(self, bucket: str, now: float) -> None:
        """Count one login attempt of ``bucket``; ``LoginRateLimited`` (429) over the limit."""
        if not self.attempts.hit(bucket, now):
            wait = max(1, math.ceil(self.attempts.retry_after(bucket, now)))
            raise LoginRateLimited(
                "too many login attempts from here; try again later",
                headers={"Retry-After": str(wait)},
            )


def make_guard(
    settings: Settings, secret: bytes, on_check: Callable[[], None] | None = None
) -> LoginGuard:
    return LoginGuard(
        secret=secret,
        attempts=KeyedWindows(settings.login_attempts_per_minute, ATTEMPT_WINDOW_SECONDS),
        hashes=HashGate(
            concurrency=settings.login_hash_concurrency or default_concurrency(),
            queue_max=settings.login_queue_max,
            on_check=on_check,
        ),
    )


def get_guard(conn: HTTPConnection) -> LoginGuard:
    guard: LoginGuard = conn.app.state.login_guard
    return guard
