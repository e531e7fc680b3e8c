"""Connections to Redis for the broker (``app.events.redisbroker``): made one at a time, each
on its own (no pool), without redis-py's retries (the broker's loops retry with backoff)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any, Final

from redis.asyncio.connection import AbstractConnection, Connection, parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = logging.getLogger(__name__)

#: The control channel (after the prefix): a JSON list of channels whose messages a publisher
#: dropped, or ``["*"]`` for all of them. Application channels never contain ``!``.
CONTROL: Final = "!missed"
ALL_CHANNELS: Final = "*"


class Connections:
    """Makes the broker's connections to the Redis of ``url``, and waits between tries."""

    def __init__(
        self, url: str, *, prefix: str, backoff_min: float = 0.1, backoff_max: float = 5.0
    ) -> None:
        options: dict[str, Any] = dict(parse_url(url))
        self._class: type[AbstractConnection] = options.pop("connection_class", Connection)
        self._options = options
        self.prefix = prefix
        self.backoff_min = backoff_min
        self._backoff_max = backoff_max

    def make(self, role: str, *, read_timeout: float | None) -> AbstractConnection:
        """A new connection named ``<role>:<prefix>`` (CLIENT LIST shows it). Replies must
        come within ``read_timeout`` (None: wait for ever) or the read raises."""
        options = {
            **self._options,
            "socket_timeout": read_timeout,
            "socket_connect_timeout": self._options.get("socket_connect_timeout", 2.0),
            "retry": Retry(NoBackoff(), 0),
            "protocol": 2,
            "client_name": f"{role}:{self.prefix}",
        }
        return self._class(**options)

    async def wait_to_retry(self, which: str, exc: Exception, delay: float) -> float:
        """Sleep about ``delay`` (with jitter, so that processes do not come back in step) and
        give the next, doubled up to the maximum. Says so once per outage, not at every try."""
        if delay <= self.backoff_min:
            log.warning("broker %s: Redis unreachable (%s); retrying", which, type(exc).__name__)
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not secrecy
        return min(delay * 2, self._backoff_max)


async def connect(conn: AbstractConnection) -> None:
    await conn.connect()  # type: ignore[no-untyped-call]


async def disconnect(conn: AbstractConnection) -> None:
    with contextlib.suppress(Exception):
        await conn.disconnect(nowait=True)
