"""The broker: how one process tells the others (and itself) that something happened.

Channels carry short text messages. Handlers are plain callables that must not block or raise:
they hand the message to a connection's outbox. A subscriber may miss messages (a process
restarts, Redis drops a connection): everything that matters is in the database, and clients
recover from it by sequence gaps and ``sync`` (DESIGN.md §5), and the server's own subscribers
catch up from it when told ``on_missed``. Nothing else in the code knows which implementation is
in use: ``MemoryBroker`` here, ``RedisBroker`` in ``app.events.redisbroker``.

Channels used: ``conv:<conversation id>``, ``ticket:<ticket row id>``, ``staff:<staff id>``,
``queue`` (the waiting line changed).
"""

from __future__ import annotations

import abc
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

Handler = Callable[[str], None]
#: Called when the subscription may have missed messages (the broker lost its connection, or a
#: publisher had to drop some): catch up from the database. Must not block or raise either.
MissedHandler = Callable[[], None]
Unsubscribe = Callable[[], None]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BrokerStatus:
    """What ``/metrics`` shows of this process's broker (``app.metrics.BrokerReading``)."""

    #: Connected and subscribed (always for the in-process broker).
    up: bool
    #: Connections made so far (the first, and one per reconnection; 0 in process).
    connects: int
    #: Messages this process could not publish (the store holds them; 0 in process).
    dropped: int
    #: Channels with a local handler.
    channels: int


class Broker(abc.ABC):
    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    def publish(self, channel: str, message: str) -> None:
        """Deliver ``message`` to every current subscriber of ``channel`` in every process.

        Fire and forget, and ordered: messages published by one process on one channel arrive in
        the order published. Never blocks (a networked broker queues and sends in the background).
        """

    @abc.abstractmethod
    async def subscribe(
        self, channel: str, handler: Handler, *, on_missed: MissedHandler | None = None
    ) -> Unsubscribe:
        """Call ``handler(message)`` for each message on ``channel`` until unsubscribed.

        The subscription is active when this returns: a message published afterwards is seen,
        unless the broker is unreachable; then it never raises, and ``on_missed()`` is called
        once it is back (and whenever messages of the channel may have been lost on the way).
        """

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise when the broker is unreachable (used by /readyz)."""

    @abc.abstractmethod
    def status(self) -> BrokerStatus:
        """The figures ``/metrics`` shows; never blocks, never raises."""


class MemoryBroker(Broker):
    """In-process fan-out for a single process (``memory://``)."""

    def __init__(self) -> None:
        self._handlers: defaultdict[str, dict[int, Handler]] = defaultdict(dict)
        self._next = 0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._handlers.clear()

    def publish(self, channel: str, message: str) -> None:
        for handler in list(self._handlers.get(channel, {}).values()):
            try:
                handler(message)
            except Exception:  # one broken subscriber must not starve the others
                log.exception("broker handler failed on channel %s", channel.split(":", 1)[0])

    async def subscribe(
        self, channel: str, handler: Handler, *, on_missed: MissedHandler | None = None
    ) -> Unsubscribe:
        # In one process nothing is ever lost on the way: ``on_missed`` is never called.
        self._next += 1
        key = self._next
        self._handlers[channel][key] = handler

        def unsubscribe() -> None:
            handlers = self._handlers.get(channel)
            if handlers is not None:
                handlers.pop(key, None)
                if not handlers:
                    del self._handlers[channel]

        return unsubscribe

    async def ping(self) -> None:
        return None

    def status(self) -> BrokerStatus:
        return BrokerStatus(up=True, connects=0, dropped=0, channels=self.channel_count())

    def channel_count(self) -> int:
        return len(self._handlers)


def make_broker(url: str, *, prefix: str = "vh:") -> Broker:
    """``memory://`` (one process) or ``redis://…`` / ``rediss://…`` (many; channels on Redis
    are named ``<prefix><channel>``)."""
    if url == "memory://":
        return MemoryBroker()
    scheme = url.split(":", 1)[0]
    if scheme in ("redis", "rediss"):
        from app.events.redisbroker import RedisBroker  # redis-py only when it is used

        return RedisBroker(url, prefix=prefix)
    raise ValueError(f"unsupported broker URL scheme: {scheme}:// (use memory:// or redis://)")
