"""The Redis broker (``redis://…``, ``rediss://…``): many processes, one pub/sub connection each.

Every process holds exactly two connections to Redis, whatever the number of sockets:

- the **subscriber**, in pub/sub mode: one ``SUBSCRIBE`` per channel that has at least one local
  handler, multiplexed to the handlers by a local table (``UNSUBSCRIBE`` when the last one goes);
- the **publisher** (``app.events.redispublish``): ``publish`` only appends to a queue (the
  interface's publish never blocks) and a task sends it on in pipelined batches, in order.

Redis going away never raises into a caller: ``publish`` drops the message (it is in the
database already, DESIGN.md §5) and notes its channel, ``subscribe`` registers the handler and
returns, and both connections come back by themselves with exponential backoff. Once the
subscriber is back and every channel subscribed again, each local subscription's ``on_missed``
is called: it may have missed messages, and catches up from the store. A publisher that had to
drop messages tells, once it is back, every process which channels lost some (on the control
channel), so that their subscribers catch up too even if their own connection never broke.
``ping`` (``/readyz``) raises while either connection is down.

Channel names on Redis are ``<prefix><channel>``: several houses, or tests, can share one Redis
(pub/sub ignores the database number). Message texts travel as UTF-8, exactly as
``app.events.messages`` encodes them, and are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from redis.asyncio.connection import AbstractConnection

from app.events.broker import Broker, BrokerStatus, Handler, MissedHandler, Unsubscribe
from app.events.redisconn import ALL_CHANNELS, CONTROL, Connections, connect, disconnect
from app.events.redispublish import Publisher

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Subscription:
    handler: Handler
    on_missed: MissedHandler | None


class RedisBroker(Broker):
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "vh:",
        queue_max: int = 100_000,
        backoff_min: float = 0.1,
        backoff_max: float = 5.0,
        keepalive: float = 5.0,
        subscribe_wait: float = 2.0,
    ) -> None:
        self._connections = Connections(
            url, prefix=prefix, backoff_min=backoff_min, backoff_max=backoff_max
        )
        self._prefix = prefix
        self._publisher = Publisher(self._connections, queue_max=queue_max, read_timeout=keepalive)
        self._keepalive = keepalive
        self._subscribe_wait = subscribe_wait
        self._subs: dict[str, dict[int, _Subscription]] = {}
        self._next_key = 0
        self._commands: deque[tuple[str, ...]] = deque()
        self._commands_ready = asyncio.Event()
        #: Futures of ``subscribe`` calls waiting for their channel's confirmation, oldest first.
        self._confirming: dict[str, deque[asyncio.Future[None]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        #: The subscriber's connection is up and every local channel is subscribed on it.
        self.subscriber_up = False
        #: The subscriber's connection is up (commands may be sent on it).
        self._connected = False
        self._pong = asyncio.Event()
        #: Subscriber connections made so far (the first, and one per reconnection).
        self.connects = 0
        self._closing = False

    # ------------------------------------------------------------------ the interface

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        subscribed, publishing = loop.create_future(), loop.create_future()
        self._tasks = [
            asyncio.create_task(self._subscriber(subscribed), name="broker-subscriber"),
            asyncio.create_task(self._publisher.run(publishing), name="broker-publisher"),
        ]
        # Serve with both connections in place when Redis is there; degraded when it is not.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._subscribe_wait):
                await asyncio.gather(subscribed, publishing)
        if not (self.subscriber_up and self._publisher.up):
            log.warning("broker: Redis unreachable at startup; relaying from the store until back")

    async def close(self) -> None:
        # What was published just before shutting down still goes out if Redis is there.
        if self._publisher.up and self._publisher.pending():
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await self._publisher.round_trip()
        self._closing = self._publisher.closing = True
        for task in self._tasks:
            # Again until it stops: the loops retry whatever ends a connection, and a
            # cancellation landing inside redis-py's own clean-up may not reach them.
            while not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=0.5)
        self._subs.clear()

    def publish(self, channel: str, message: str) -> None:
        self._publisher.publish(channel, message)

    async def subscribe(
        self, channel: str, handler: Handler, *, on_missed: MissedHandler | None = None
    ) -> Unsubscribe:
        self._next_key += 1
        key = self._next_key
        local = self._subs.get(channel)
        if local is None:
            local = self._subs[channel] = {}
        local[key] = _Subscription(handler, on_missed)
        confirmed: asyncio.Future[None] | None = None
        if len(local) == 1 and self._connected:
            confirmed = asyncio.get_running_loop().create_future()
            self._confirming.setdefault(channel, deque()).append(confirmed)
            self._command("SUBSCRIBE", self._prefix + channel)
        elif self._confirming.get(channel):
            # Another local handler asked for this channel a moment ago and Redis has not
            # confirmed it yet: a message published now would miss this one too.
            confirmed = self._confirming[channel][-1]
        if confirmed is not None:
            await self._until_confirmed(channel, key, confirmed)

        def unsubscribe() -> None:
            handlers = self._subs.get(channel)
            if handlers is None or handlers.pop(key, None) is None:
                return
            if not handlers:
                del self._subs[channel]
                if self._connected:
                    self._command("UNSUBSCRIBE", self._prefix + channel)

        return unsubscribe

    async def _until_confirmed(
        self, channel: str, key: int, confirmed: asyncio.Future[None]
    ) -> None:
        """Wait for Redis to confirm ``channel``: the subscription is active on return (the
        interface's promise). Past ``subscribe_wait`` (Redis slow, or gone) it returns anyway,
        and the late confirmation calls ``on_missed``: what was published in between is caught
        up from the store. A lost connection calls it too, once it is back."""
        try:
            async with asyncio.timeout(self._subscribe_wait):
                await asyncio.shield(confirmed)
        except TimeoutError:
            confirmed.add_done_callback(lambda _: self._late(channel, key))

    def _late(self, channel: str, key: int) -> None:
        sub = self._subs.get(channel, {}).get(key)
        if sub is not None:
            _call_all([sub.on_missed])

    async def ping(self) -> None:
        if not self.subscriber_up:
            raise ConnectionError("the broker's Redis subscription is down")
        await self._publisher.round_trip()

    def status(self) -> BrokerStatus:
        return BrokerStatus(
            up=self.subscriber_up and self._publisher.up,
            connects=self.connects,
            dropped=self._publisher.dropped,
            channels=len(self._subs),
        )

    @property
    def publisher_up(self) -> bool:
        return self._publisher.up

    @property
    def dropped(self) -> int:
        """Messages this process could not publish (Redis down, or the queue full)."""
        return self._publisher.dropped

    def channel_count(self) -> int:
        """Channels with a local handler (each one Redis subscription of this process)."""
        return len(self._subs)

    # ------------------------------------------------------------------ subscribing

    async def _subscriber(self, first: asyncio.Future[None]) -> None:
        delay = self._connections.backoff_min
        while not self._closing:
            conn = self._connections.make("vh-sub", read_timeout=None)
            try:
                await connect(conn)
            except Exception as exc:
                delay = await self._connections.wait_to_retry("subscriber", exc, delay)
                continue
            delay = self._connections.backoff_min
            self.connects += 1
            try:
                await self._listen(conn, first)
            except Exception as exc:
                log.warning("broker subscriber: connection lost (%s)", type(exc).__name__)
            finally:
                self.subscriber_up = self._connected = False
                self._commands.clear()
                for waiting in self._confirming.values():
                    for future in waiting:
                        if not future.done():
                            future.set_result(None)  # subscribe returns; on_missed follows
                self._confirming.clear()
                await disconnect(conn)

    async def _listen(self, conn: AbstractConnection, first: asyncio.Future[None]) -> None:
        prefix = self._prefix
        control = prefix + CONTROL
        # Every local channel now, and what they may have missed while the connection was away.
        channels = [control, *(prefix + c for c in self._subs)]
        pending = set(channels)
        self._commands.clear()
        self._commands.append(("SUBSCRIBE", *channels))
        self._connected = True
        tasks = [
            asyncio.create_task(self._send_commands(conn), name="broker-commands"),
            asyncio.create_task(self._keep_alive(conn), name="broker-keepalive"),
        ]
        try:
            while True:
                reply = await conn.read_response()
                if not isinstance(reply, list) or not reply:
                    continue
                kind = reply[0]
                if kind == b"message" and len(reply) == 3:
                    name = reply[1].decode("utf-8", "replace")
                    if name == control:
                        self._told_missed(reply[2])
                    elif name.startswith(prefix):
                        self._dispatch(name[len(prefix) :], reply[2])
                elif kind == b"subscribe":
                    name = reply[1].decode("utf-8", "replace")
                    if name in pending:  # the resubscription of every channel at connect
                        pending.discard(name)
                        if not pending:
                            self.subscriber_up = True
                            if first.done():
                                log.info("broker subscriber: back; %d channel(s)", len(channels))
                            else:
                                first.set_result(None)
                            # Every handler of now: one added meanwhile to a channel of
                            # the batch returned before its channel was active again.
                            _call_all(
                                [s.on_missed for c in self._subs.values() for s in c.values()]
                            )
                    else:
                        self._confirmed(name[len(prefix) :])
                elif kind == b"pong":
                    self._pong.set()
        finally:
            for task in tasks:
                task.cancel()
            # Not suppressed one by one: a cancellation of this task (``close``) must go on.
            await asyncio.gather(*tasks, return_exceptions=True)

    def _confirmed(self, channel: str) -> None:
        waiting = self._confirming.get(channel)
        if waiting:
            future = waiting.popleft()
            if not waiting:
                del self._confirming[channel]
            if not future.done():
                future.set_result(None)

    async def _send_commands(self, conn: AbstractConnection) -> None:
        while True:
            if not self._commands:
                self._commands_ready.clear()
                await self._commands_ready.wait()
            batch = list(self._commands)
            self._commands.clear()
            await conn.send_packed_command(conn.pack_commands(batch), check_health=False)

    async def _keep_alive(self, conn: AbstractConnection) -> None:
        """PING the subscriber now and then: a connection that stopped answering (a half-open
        socket, a frozen server) is dropped and made again instead of silently hearing nothing."""
        while True:
            await asyncio.sleep(self._keepalive)
            self._pong.clear()
            self._command("PING")
            try:
                async with asyncio.timeout(self._keepalive):
                    await self._pong.wait()
            except TimeoutError:
                log.warning("broker subscriber: Redis stopped answering; reconnecting")
                await disconnect(conn)
                return

    def _command(self, *args: str) -> None:
        self._commands.append(args)
        self._commands_ready.set()

    def _dispatch(self, channel: str, data: bytes) -> None:
        local = self._subs.get(channel)
        if not local:
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            log.warning("broker: dropped a message that is not UTF-8")
            return
        for sub in list(local.values()):
            try:
                sub.handler(text)
            except Exception:  # one broken subscriber must not starve the others
                log.exception("broker handler failed on channel %s", channel.split(":", 1)[0])

    def _told_missed(self, data: bytes) -> None:
        try:
            channels = json.loads(data)
        except ValueError:
            log.warning("broker: dropped a control message that is not JSON")
            return
        if not isinstance(channels, list):
            return
        every = ALL_CHANNELS in channels
        chosen: Iterable[str] = self._subs if every else (c for c in channels if c in self._subs)
        _call_all([s.on_missed for c in list(chosen) for s in self._subs[c].values()])


def _call_all(callbacks: Iterable[MissedHandler | None]) -> None:
    for callback in callbacks:
        if callback is None:
            continue
        try:
            callback()
        except Exception:
            log.exception("broker: an on_missed callback failed")
