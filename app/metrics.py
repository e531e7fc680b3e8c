"""The Prometheus metrics of one app: its own registry and the instruments that count as things
happen, plus the live figures of the queue, read from the database at scrape time.

Each app has its own ``CollectorRegistry`` (never prometheus_client's global one), so that
several apps in one process (the tests) do not collide. The socket shell, the dispatcher and the
HTTP error handlers update the instruments; ``supervision.scrape`` reads the live figures and
renders the text format (``GET /metrics``, docs/PROTOCOL.md §1).

Labels are only queue names, languages, error codes, roles, socket kinds and transports: never
a conversation id, ticket, alias, username or address. Whoever can read the metrics learns how
busy the house is, not who is in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

#: The Content-Type of the text format ``render`` writes.
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
SocketKind = Literal["youth", "staff"]
Transport = Literal["http", "websocket"]

#: Pairing latency: milliseconds when a counsellor is free, so the buckets start small.
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: A young person's wait for a first pairing: seconds to an hour.
WAIT_BUCKETS: Final = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """Waiting tickets of one queue and language (``language`` may be ``other``)."""

    queue: str
    language: str
    waiting: int
    urgent: int
    #: Seconds the longest-waiting of them has waited (0 when none wait).
    longest_wait: float


@dataclass(frozen=True, slots=True)
class Live:
    """What the database says at scrape time (``supervision.scrape.live``)."""

    queues: tuple[QueueFigures, ...] = ()
    #: Staff on duty per role.
    on_duty: Mapping[str, int] = field(default_factory=dict)
    #: Open conversations.
    active_chats: int = 0


class BrokerReading(Protocol):
    """What a scrape shows of the process's broker (``app.events.broker.BrokerStatus``)."""

    @property
    def up(self) -> bool: ...
    @property
    def connects(self) -> int: ...
    @property
    def dropped(self) -> int: ...
    @property
    def channels(self) -> int: ...


class Metrics:
    """The instruments of one app, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.sockets_open = Gauge(
            "vhouse_sockets_open",
            "WebSockets open in this process, by kind",
            ["kind"],
            registry=self.registry,
        )
        for kind in ("youth", "staff"):
            self.sockets_open.labels(kind)
        self.envelopes_relayed = Counter(
            "vhouse_envelopes_relayed",
            "Envelopes this process stored and relayed to the other side (not duplicates)",
            registry=self.registry,
        )
        self.pairing_latency = Histogram(
            "vhouse_pairing_latency_seconds",
            "From the moment a pairing became possible (the ticket's join, or its counsellor's "
            "seat becoming free, whichever came later) to the pairing; first pairings only",
            ["queue"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.pairing_wait = Histogram(
            "vhouse_pairing_wait_seconds",
            "From a ticket's join to its first pairing",
            ["queue"],
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self.password_checks = Counter(
            "vhouse_password_checks",
            "Password hashes verified (logins and re-authentications that reached argon2)",
            registry=self.registry,
        )
        self.errors = Counter(
            "vhouse_errors",
            "Errors answered: HTTP error bodies and WebSocket error frames, by code",
            ["transport", "code"],
            registry=self.registry,
        )

    def socket_opened(self, kind: SocketKind) -> None:
        self.sockets_open.labels(kind).inc()

    def socket_closed(self, kind: SocketKind) -> None:
        self.sockets_open.labels(kind).dec()

    def error(self, transport: Transport, code: str) -> None:
        """Count one error answered. ``code`` must be one of the documented, fixed codes
        (docs/PROTOCOL.md §1, §5), never text a client chose: every value is a new series."""
        self.errors.labels(transport, code).inc()

    def socket_error(self, code: str) -> None:
        self.error("websocket", code)

    def paired(self, queue: str, *, latency: float, wait: float) -> None:
        """A first pairing in ``queue``: ``latency`` since it became possible, ``wait`` since
        the ticket joined (seconds; negative values from clock steps count as 0)."""
        self.pairing_latency.labels(queue).observe(max(0.0, latency))
        self.pairing_wait.labels(queue).observe(max(0.0, wait))

    def render(
        self, live: Live | None, broker: BrokerReading | None = None, tasks: int | None = None
    ) -> bytes:
        """The text format of everything: the instruments, the process, the broker's figures,
        the event loop's ``tasks`` (when given), and ``live`` (with ``vhouse_database_up`` 1),
        or, when the database could not be read, ``None`` (0)."""
        return generate_latest(_Scrape(self.registry, live, broker, tasks))


class _Scrape:
    """One scrape: the registry's metrics followed by the live figures (a ``Collector``)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        live: Live | None,
        broker: BrokerReading | None,
        tasks: int | None,
    ) -> None:
        self._registry = registry
        self._live = live
        self._broker = broker
        self._tasks = tasks

    def collect(self) -> Iterable[Metric]:
        yield from self._registry.collect()
        if self._broker is not None:
            yield from _broker_families(self._broker)
        if self._tasks is not None:
            # A leak of tasks (one left behind per socket or chat) shows as growth here: the
            # soak benchmark (bench/soak.py, P-9) watches it.
            yield GaugeMetricFamily(
                "vhouse_tasks",
                "asyncio tasks alive in this process's event loop at scrape time",
                value=self._tasks,
            )
        yield from _live_families(self._live)


def _broker_families(broker: BrokerReading) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "vhouse_broker_up",
        "1 when this process's broker is connected and subscribed (always 1 in process)",
        value=1 if broker.up else 0,
    )
    yield CounterMetricFamily(
        "vhouse_broker_connects",
        "Broker connections this process made (the first, and one per reconnection)",
        value=broker.connects,
    )
    yield CounterMetricFamily(
        "vhouse_broker_dropped",
        "Messages this process could not publish (the store holds them; peers catch up)",
        value=broker.dropped,
    )
    yield GaugeMetricFamily(
        "vhouse_broker_channels",
        "Broker channels this process listens on (each one subscription)",
        value=broker.channels,
    )


def _live_families(live: Live | None) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "vhouse_database_up",
        "1 when this scrape could read the database (the queue figures below are present)",
        value=0 if live is None else 1,
    )
    if live is None:
        return
    waiting = GaugeMetricFamily(
        "vhouse_queue_waiting",
        "Tickets waiting, by queue and language",
        labels=["queue", "language"],
    )
    urgent = GaugeMetricFamily(
        "vhouse_queue_urgent_waiting", "Urgent tickets waiting, by queue", labels=["queue"]
    )
    longest = GaugeMetricFamily(
        "vhouse_queue_longest_wait_seconds",
        "How long the longest-waiting ticket of each queue has waited",
        labels=["queue"],
    )
    per_queue: dict[str, tuple[int, float]] = {}
    for line in live.queues:
        waiting.add_metric([line.queue, line.language], line.waiting)
        count, wait = per_queue.get(line.queue, (0, 0.0))
        per_queue[line.queue] = (count + line.urgent, max(wait, line.longest_wait))
    for queue, (count, wait) in sorted(per_queue.items()):
        urgent.add_metric([queue], count)
        longest.add_metric([queue], wait)
    on_duty = GaugeMetricFamily("vhouse_staff_on_duty", "Staff on duty, by role", labels=["role"])
    for role, count in sorted(live.on_duty.items()):
        on_duty.add_metric([role], count)
    yield waiting
    yield urgent
    yield longest
    yield on_duty
    yield GaugeMetricFamily(
        "vhouse_chats_active", "Open conversations (paired chats)", value=live.active_chats
    )
