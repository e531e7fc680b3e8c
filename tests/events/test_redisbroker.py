"""The Redis broker against real Redis: across processes (two broker instances, as two
processes would hold), one subscriber connection per process however many subscriptions, the
typed messages unchanged on the wire, and Redis going away under it.

The shared Redis (``VH_TEST_REDIS_URL``) is never flushed or stopped: each test has a channel
prefix of its own. The outage tests stop and start a ``redis-server`` of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import redis as sync_redis
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.events import messages
from app.events.broker import BrokerStatus, make_broker
from app.events.redisbroker import RedisBroker
from tests.events.test_messages import ANY_MESSAGE
from tests.redisserver import RedisServer, new_prefix, own_redis, shared_redis_url

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_url() -> str:
    return shared_redis_url()


@pytest.fixture
async def pair(redis_url: str) -> AsyncIterator[tuple[RedisBroker, RedisBroker]]:
    """Two brokers on one prefix: two processes of one house."""
    prefix = new_prefix()
    first, second = RedisBroker(redis_url, prefix=prefix), RedisBroker(redis_url, prefix=prefix)
    await first.start()
    await second.start()
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("not within the time")
        await asyncio.sleep(0.02)


def test_make_broker_chooses_redis_by_its_url() -> None:
    assert isinstance(make_broker("redis://127.0.0.1:6379/0", prefix="x:"), RedisBroker)
    assert isinstance(make_broker("rediss://example.invalid:6380/1"), RedisBroker)
    with pytest.raises(ValueError, match="memory:// or redis://"):
        make_broker("amqp://example.invalid")


async def test_a_message_reaches_every_subscriber_of_every_process_in_order(
    pair: tuple[RedisBroker, RedisBroker],
) -> None:
    a, b = pair
    at_a: list[str] = []
    at_b: list[str] = []
    at_b_too: list[str] = []
    await a.subscribe("conv:c1", at_a.append)
    await b.subscribe("conv:c1", at_b.append)
    await b.subscribe("conv:c1", at_b_too.append)
    sent = [f"m{i} — ä ب" for i in range(300)]
    for text in sent:
        a.publish("conv:c1", text)  # never awaits: queued to the writer task
    b.publish("conv:c1", "from b")
    await eventually(lambda: len(at_a) == len(at_b) == len(at_b_too) == 301)
    assert [m for m in at_b if m != "from b"] == sent  # one publisher's order is kept
    assert at_b == at_b_too
    assert sorted(at_a) == sorted(at_b)
    await a.ping()
    await b.ping()


async def test_one_subscriber_connection_per_process_however_many_subscriptions(
    pair: tuple[RedisBroker, RedisBroker], redis_url: str
) -> None:
    _, b = pair
    for i in range(200):
        for _ in range(3):  # three sockets of the same conversation in this process
            await b.subscribe(f"conv:{i}", lambda _: None)
    assert b.channel_count() == 200
    async with aioredis.Redis.from_url(redis_url) as client:
        clients = await client.client_list()
        prefix = b._prefix
        subscribers = [c for c in clients if c["name"] == f"vh-sub:{prefix}"]
        publishers = [c for c in clients if c["name"] == f"vh-pub:{prefix}"]
        # One subscriber and one publisher per process (a and b), whatever the subscriptions.
        assert len(subscribers) == 2
        assert len(publishers) == 2
        assert sorted(int(c["sub"]) for c in subscribers) == [1, 201]  # + the control channel
        numsub = dict(await client.pubsub_numsub(*(f"{prefix}conv:{i}" for i in range(200))))
        assert set(numsub.values()) == {1}  # one Redis subscription per channel, not three


async def test_unsubscribe_ends_the_redis_subscription_with_the_last_local_handler(
    pair: tuple[RedisBroker, RedisBroker], redis_url: str
) -> None:
    a, b = pair
    first: list[str] = []
    second: list[str] = []
    drop_first = await b.subscribe("staff:s1", first.append)
    drop_second = await b.subscribe("staff:s1", second.append)
    drop_first()
    drop_first()  # twice is harmless
    a.publish("staff:s1", "one")
    await eventually(lambda: second == ["one"])
    assert first == []
    drop_second()
    assert b.channel_count() == 0
    channel = f"{b._prefix}staff:s1"
    async with aioredis.Redis.from_url(redis_url) as client:
        for _ in range(100):
            if dict(await client.pubsub_numsub(channel))[channel.encode()] == 0:
                break
            await asyncio.sleep(0.02)
        assert dict(await client.pubsub_numsub(channel))[channel.encode()] == 0
    # Subscribing again works, and at once.
    again: list[str] = []
    await b.subscribe("staff:s1", again.append)
    a.publish("staff:s1", "two")
    await eventually(lambda: again == ["two"])
    assert second == ["one"]


async def test_a_second_local_handler_waits_for_the_channel_redis_has_not_confirmed_yet(
    pair: tuple[RedisBroker, RedisBroker], redis_url: str
) -> None:
    """Two sockets of one conversation subscribe at once (a restart: the youth page and the
    console come back together). The first sends SUBSCRIBE; the second must not return before
    Redis confirmed it either, or what is published right after it returns is lost to it (the
    restarted chat's first message, seen in CI on the scaled stack)."""
    _, b = pair
    first: list[str] = []
    second: list[str] = []
    asking = asyncio.create_task(b.subscribe("conv:both", first.append))
    await asyncio.sleep(0)  # the first one has queued its SUBSCRIBE and waits for it
    await b.subscribe("conv:both", second.append)
    channel = f"{b._prefix}conv:both"
    # A blocking client: the broker's tasks cannot run while it asks, so this sees the state
    # Redis was in when ``subscribe`` returned.
    with sync_redis.Redis.from_url(redis_url) as client:
        assert dict(client.pubsub_numsub(channel))[channel.encode()] == 1
        assert client.publish(channel, "right after") == 1
    await asking
    await eventually(lambda: first == second == ["right after"])


async def test_a_subscription_confirmed_late_catches_up(redis_url: str) -> None:
    """Past ``subscribe_wait`` ``subscribe`` returns unconfirmed; the late confirmation calls
    ``on_missed``, so the store fills what was published in between."""
    broker = RedisBroker(redis_url, prefix=new_prefix())
    await broker.start()
    broker._subscribe_wait = 0.0  # Redis answers in well over no time at all
    try:
        missed: list[int] = []
        await broker.subscribe("conv:late", lambda _: None, on_missed=lambda: missed.append(1))
        await eventually(lambda: missed == [1])
        await broker.subscribe("conv:late", lambda _: None)  # confirmed by now: no wait
        await asyncio.sleep(0.1)
        assert missed == [1]
    finally:
        await broker.close()


async def test_a_handler_that_raises_does_not_starve_the_others(
    pair: tuple[RedisBroker, RedisBroker],
) -> None:
    a, b = pair
    got: list[str] = []

    def broken(_: str) -> None:
        raise RuntimeError("a bug in one socket")

    await b.subscribe("queue", broken)
    await b.subscribe("queue", got.append)
    a.publish("queue", "x")
    await eventually(lambda: got == ["x"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ANY_MESSAGE, min_size=1, max_size=20))
def test_typed_messages_cross_redis_unchanged(batch: list[messages.Message]) -> None:
    url = shared_redis_url()

    async def run() -> list[str]:
        prefix = new_prefix()
        a, b = RedisBroker(url, prefix=prefix), RedisBroker(url, prefix=prefix)
        await a.start()
        await b.start()
        got: list[str] = []
        try:
            await b.subscribe("conv:c", got.append)
            for message in batch:
                a.publish("conv:c", messages.encode(message))
            await eventually(lambda: len(got) == len(batch))
        finally:
            await a.close()
            await b.close()
        return got

    received = asyncio.run(run())
    assert [messages.decode(text) for text in received] == batch


# ---------------------------------------------------------------------- Redis goes away


async def test_redis_down_never_raises_keeps_the_subscriptions_and_recovers(
    tmp_path: Path,
) -> None:
    """R-22: Redis going away never raises into a caller; the broker keeps its subscriptions
    and recovers by itself when Redis returns."""
    with own_redis(tmp_path / "redis") as server:
        prefix = new_prefix()
        a = RedisBroker(server.url, prefix=prefix, backoff_max=0.5, keepalive=1.0)
        b = RedisBroker(server.url, prefix=prefix, backoff_max=0.5, keepalive=1.0)
        await a.start()
        await b.start()
        try:
            await _outage(server, a, b)
        finally:
            await a.close()
            await b.close()


async def _outage(server: RedisServer, a: RedisBroker, b: RedisBroker) -> None:
    got: list[str] = []
    missed: list[str] = []
    await b.subscribe("conv:c", got.append, on_missed=lambda: missed.append("conv:c"))
    a.publish("conv:c", "before")
    await eventually(lambda: got == ["before"])
    assert missed == []  # connected at start: nothing missed
    assert b.status() == BrokerStatus(up=True, connects=1, dropped=0, channels=1)

    server.stop()
    await eventually(lambda: not b.subscriber_up)
    assert not b.status().up  # what /metrics shows as vhouse_broker_up 0
    with pytest.raises(ConnectionError):
        await b.ping()
    loop = asyncio.get_running_loop()
    for i in range(100):
        a.publish("conv:c", f"lost {i}")  # never raises, never blocks
    started = loop.time()
    later: list[str] = []
    await b.subscribe("conv:new", later.append, on_missed=lambda: missed.append("conv:new"))
    assert loop.time() - started < 1.0  # returns at once while Redis is away
    await asyncio.sleep(2.0)  # down for a few seconds: the brokers keep trying
    assert missed == []

    server.start()
    await eventually(lambda: all(x.subscriber_up and x.publisher_up for x in (a, b)))
    await b.ping()
    await a.ping()
    # Both subscriptions are told they may have missed messages (and catch up from the store).
    await eventually(lambda: sorted(set(missed)) == ["conv:c", "conv:new"])
    assert a.dropped >= 100
    assert a.status().dropped == a.dropped
    status = b.status()
    assert status.up
    assert status.connects >= 2
    assert status.channels == 2
    a.publish("conv:c", "after")
    a.publish("conv:new", "new")
    await eventually(lambda: got[-1:] == ["after"] and later == ["new"])
    assert not any(text.startswith("lost") for text in got)


async def test_a_publisher_that_dropped_messages_tells_the_other_processes(
    pair: tuple[RedisBroker, RedisBroker], redis_url: str
) -> None:
    """Only the publisher's connection breaks: the other process's subscriber never does, yet
    it is told which channel lost messages."""
    a, b = pair
    missed: list[str] = []
    got: list[str] = []
    await b.subscribe("conv:c", got.append, on_missed=lambda: missed.append("conv:c"))
    await b.subscribe("conv:d", got.append, on_missed=lambda: missed.append("conv:d"))
    connects = b.connects
    async with aioredis.Redis.from_url(redis_url) as client:
        ids = [c["id"] for c in await client.client_list() if c["name"] == f"vh-pub:{a._prefix}"]
        assert len(ids) == 2
        for client_id in ids:
            await client.client_kill_filter(_id=client_id)
    a.publish("conv:c", "maybe lost")
    await eventually(lambda: a.dropped > 0 or got == ["maybe lost"])
    if a.dropped:
        await eventually(lambda: "conv:c" in missed)
        assert "conv:d" not in missed  # only the channel that lost a message
    await eventually(lambda: a.publisher_up)
    assert b.connects == connects  # b's own subscription never broke
    a.publish("conv:d", "after")
    await eventually(lambda: got[-1:] == ["after"])


async def test_a_broker_started_while_redis_is_down_comes_up_by_itself(tmp_path: Path) -> None:
    """R-22: a process started while Redis is down serves from the store and connects later."""
    server = RedisServer(tmp_path / "redis")
    broker = RedisBroker(server.url, prefix=new_prefix(), backoff_max=0.3, subscribe_wait=0.5)
    await broker.start()  # does not raise: the house serves from the store meanwhile
    try:
        missed: list[str] = []
        await broker.subscribe("queue", lambda _: None, on_missed=lambda: missed.append("q"))
        broker.publish("queue", "nobody hears this")
        with pytest.raises(ConnectionError):
            await broker.ping()
        server.start()
        await eventually(lambda: broker.subscriber_up and broker.publisher_up)
        await broker.ping()
        # Told by its own reconnection, and by its publisher's word that it dropped a message.
        await eventually(lambda: bool(missed))
        assert set(missed) == {"q"}
    finally:
        await broker.close()
        server.stop()


async def test_a_text_utf8_cannot_carry_is_dropped_alone(
    pair: tuple[RedisBroker, RedisBroker],
) -> None:
    """A lone surrogate (a client's ``"\\ud800"`` JSON escape) never breaks the publisher's
    batch or connection: that message alone is dropped."""
    a, b = pair
    got: list[str] = []
    await b.subscribe("conv:c", got.append)
    a.publish("conv:c", "one")
    a.publish("conv:c", "bad \ud800")
    a.publish("conv:c", "two")
    await eventually(lambda: got == ["one", "two"])
    assert a.publisher_up
    await a.ping()
