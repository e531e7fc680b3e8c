"""The Redis broker's publisher: one connection per process and a queue in front of it.

``publish`` only appends to the queue (the broker interface's publish never blocks); one task
sends what is queued as pipelined batches of ``PUBLISH``, in order, so that one process's
messages on one channel arrive in the order published. While the connection is down (or the
queue is full) a message is dropped and its channel noted: the message is in the database
already (DESIGN.md §5), and once the connection is back the publisher tells every process, on
the control channel, which channels lost messages, so that their subscribers catch up from the
store even when their own connection never broke.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from typing import Final

from redis.asyncio.connection import AbstractConnection

from app.events.redisconn import ALL_CHANNELS, CONTROL, Connections, connect, disconnect

log = logging.getLogger(__name__)

#: Publishes sent to Redis in one write (one round trip).
BATCH_MAX: Final = 512
#: Channels remembered as having lost messages; beyond it every channel is told.
DROPPED_MAX: Final = 1000


class _Probe:
    """A round trip through the queue: done once everything queued before it was sent."""

    def __init__(self) -> None:
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()


#: A message (Redis channel, UTF-8 text), a probe, or None: a PING of an idle connection.
_Item = tuple[str, bytes] | _Probe | None


class Publisher:
    def __init__(
        self, connections: Connections, *, queue_max: int = 100_000, read_timeout: float = 5.0
    ) -> None:
        self._connections = connections
        self._prefix = connections.prefix
        self._queue_max = queue_max
        self._read_timeout = read_timeout
        self._queue: deque[_Item] = deque()
        self._ready = asyncio.Event()
        self._dropped: set[str] = set()
        self._dropped_all = False
        #: The connection is up: messages are queued, not dropped.
        self.up = False
        #: Messages dropped so far (Redis down, or the queue full).
        self.dropped = 0
        self.closing = False

    def publish(self, channel: str, message: str) -> None:
        if not self.up or len(self._queue) >= self._queue_max:
            self._drop(channel)
            return
        try:
            # Here, not in the writer: a text that UTF-8 cannot carry (a lone surrogate from a
            # client's JSON escape) is refused alone instead of breaking the whole batch.
            data = message.encode("utf-8")
        except UnicodeEncodeError:
            log.warning("broker: dropped a message that UTF-8 cannot carry")
            return
        self._queue.append((self._prefix + channel, data))
        self._ready.set()

    async def round_trip(self) -> None:
        """Return once Redis answered a PING sent after everything queued now; raise
        ``ConnectionError`` when the connection is down or breaks first."""
        if not self.up:
            raise ConnectionError("the broker's Redis connection is down")
        probe = _Probe()
        self._queue.append(probe)
        self._ready.set()
        await probe.done

    def pending(self) -> int:
        return len(self._queue)

    async def run(self, first: asyncio.Future[None]) -> None:
        """The publisher task: connect, send, and connect again after a loss, for ever."""
        delay = self._connections.backoff_min
        while not self.closing:
            conn = self._connections.make("vh-pub", read_timeout=self._read_timeout)
            try:
                await connect(conn)
            except Exception as exc:
                delay = await self._connections.wait_to_retry("publisher", exc, delay)
                continue
            delay = self._connections.backoff_min
            self.up = True
            if not first.done():
                first.set_result(None)
            try:
                await self._tell_dropped(conn)
                await self._send_loop(conn)
            except Exception as exc:
                log.warning("broker publisher: connection lost (%s)", type(exc).__name__)
            finally:
                self.up = False
                while self._queue:
                    self._lost(self._queue.popleft())
                await disconnect(conn)

    async def _send_loop(self, conn: AbstractConnection) -> None:
        while not self.closing:
            if not self._queue:
                self._ready.clear()
                try:
                    async with asyncio.timeout(self._read_timeout):
                        await self._ready.wait()
                except TimeoutError:
                    # Idle: a PING now and then notices a lost connection before a message is
                    # lost on it (and keeps ``up`` honest for ``/readyz``).
                    self._queue.append(None)
            batch: list[_Item] = []
            while self._queue and len(batch) < BATCH_MAX:
                batch.append(self._queue.popleft())
            try:
                await conn.send_packed_command(
                    conn.pack_commands(_command(item) for item in batch), check_health=False
                )
                for _ in batch:
                    await conn.read_response()
            except BaseException:
                for item in batch:
                    self._lost(item)
                raise
            for item in batch:
                if isinstance(item, _Probe) and not item.done.done():
                    item.done.set_result(None)

    async def _tell_dropped(self, conn: AbstractConnection) -> None:
        """After an outage, tell every process which channels lost messages of this one."""
        if not (self._dropped or self._dropped_all):
            return
        channels = [ALL_CHANNELS] if self._dropped_all else sorted(self._dropped)
        self._dropped, self._dropped_all = set(), False
        control = self._prefix + CONTROL
        chunks = [channels[i : i + 100] for i in range(0, len(channels), 100)]
        try:
            await conn.send_packed_command(
                conn.pack_commands(("PUBLISH", control, json.dumps(c)) for c in chunks),
                check_health=False,
            )
            for _ in chunks:
                await conn.read_response()
        except BaseException:
            self._dropped_all = True  # which of them arrived is unknown: all are told next time
            raise
        log.info("broker publisher: back; told the subscribers of %d channel(s)", len(channels))

    def _drop(self, channel: str) -> None:
        self.dropped += 1
        if len(self._dropped) < DROPPED_MAX:
            self._dropped.add(channel)
        else:
            self._dropped_all = True

    def _lost(self, item: _Item) -> None:
        if item is None:
            return
        if isinstance(item, _Probe):
            if not item.done.done():
                item.done.set_exception(ConnectionError("the broker's Redis connection is down"))
        else:
            self._drop(item[0][len(self._prefix) :])


def _command(item: _Item) -> tuple[str | bytes, ...]:
    return ("PUBLISH", item[0], item[1]) if isinstance(item, tuple) else ("PING",)
