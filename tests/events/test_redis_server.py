"""Full servers on PostgreSQL with the Redis broker (``VH_BROKER_URL=redis://…``): a chat end to
end, and Redis going away under a chat and coming back.

These need PostgreSQL and Redis, which CI runs (``.ci/run``): there they fail rather than skip
when either is missing. Each server keeps to a channel prefix of its own on the shared Redis.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from app.client.envelopes import open_text
from tests.canary import canary_phrase, encodings
from tests.chat.test_segments import _connected_pair
from tests.conftest import Server, database_of, start_server
from tests.redisserver import RedisServer, new_prefix, own_redis, shared_redis_url
from tests.support import Chat, Harness, exchange, frames_until_closed, until

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def readiness(server: Server) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(server.base_url + "/readyz", timeout=5) as r:  # noqa: S310
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Server]:
    """A server on a fresh PostgreSQL database and the shared Redis."""
    redis_url = shared_redis_url()
    with database_of("postgresql", tmp_path) as database:
        srv = start_server(
            database, tmp_path, VH_BROKER_URL=redis_url, VH_BROKER_PREFIX=new_prefix()
        )
        try:
            yield srv
        finally:
            srv.stop()


async def test_a_chat_end_to_end_on_postgresql_and_redis(redis_server: Server) -> None:
    assert readiness(redis_server) == (200, {"status": "ok", "database": "ok", "broker": "ok"})
    async with Harness(redis_server) as harness:
        chat = await harness.chat(envelopes=3)  # paired through Redis, relayed both ways
        await exchange(chat, 5)
        await harness.assert_unharmed(chat)
    assert "Redis unreachable" not in redis_server.log()


@pytest.fixture
def outage(tmp_path: Path) -> Iterator[tuple[Server, RedisServer]]:
    """A server on PostgreSQL and a Redis of the test's own, which the test stops and starts."""
    with database_of("postgresql", tmp_path) as database, own_redis(tmp_path / "redis") as redis:
        srv = start_server(database, tmp_path, VH_BROKER_URL=redis.url)
        try:
            yield srv, redis
        finally:
            srv.stop()


async def test_redis_down_the_chat_goes_on_from_the_store_and_nothing_acknowledged_is_lost(
    outage: tuple[Server, RedisServer],
) -> None:
    """R-22: with Redis stopped under a live chat, relaying degrades to store-and-replay, and
    once Redis is back every acknowledged envelope reaches the counsellor once, in order."""
    server, redis = outage
    async with Harness(server) as harness:
        chat = await harness.chat(envelopes=2)
        youth, staff = chat.youth, chat.staff
        assert youth.sender is not None

        redis.stop()
        await asyncio.sleep(0.5)
        status, body = readiness(server)
        assert (status, body["broker"], body["database"]) == (503, "unreachable", "ok")
        # Envelopes are still stored and acknowledged: the relay never fails on the broker.
        during = [youth.sender.test_envelope() for _ in range(3)]
        for envelope in during:
            await youth.send_envelope(envelope)
        for envelope in during:
            assert (await youth.expect("ack"))["seq"] == envelope.seq
        await asyncio.sleep(3.0)  # down for a few seconds

        redis.start()
        # Without any sync from the client: the server's link catches up from the store once
        # the broker is back and has subscribed again.
        await until(staff, lambda: all(e in staff.envelopes for e in during), timeout=20)
        assert [e for e in staff.envelopes if e in during] == during  # each once, in order
        for _ in range(100):
            if readiness(server)[0] == 200:
                break
            await asyncio.sleep(0.1)
        assert readiness(server)[0] == 200
        # And live relaying is back.
        chat.stored += during
        await exchange(chat, 2)
    assert server.alive(), server.log()


async def test_the_canary_phrase_never_crosses_redis(redis_server: Server) -> None:
    """R-15 over the broker (CRYPTO.md §7 names Redis): every command Redis receives while a
    unique phrase is sent both ways, watched with MONITOR, carries ciphertext only. Pub/sub
    keeps nothing, so what crosses it is all there is to look at."""
    phrase = canary_phrase()
    seen: list[str] = []
    client = aioredis.Redis.from_url(shared_redis_url())
    monitor = client.monitor()
    await monitor.connect()
    connection = monitor.connection
    assert connection is not None
    await connection.send_command("MONITOR")
    assert await connection.read_response() in (b"OK", "OK")

    async def watch() -> None:
        while True:
            seen.append((await monitor.next_command())["command"])

    watcher = asyncio.create_task(watch())
    try:
        async with Harness(redis_server) as h:
            staff, youth, conv = await _connected_pair(h)
            key, _ = await asyncio.gather(staff.wait_keys(conv), youth.wait_connected())
            assert youth.sender is not None
            await youth.send_envelope(youth.sender.text_envelope(youth.key, f"{phrase} (youth)"))
            await staff.send_envelope(staff.senders[conv].text_envelope(key, phrase))
            await until(youth, lambda: any(e.role == "C" for e in youth.envelopes))
            assert open_text(youth.key, youth.envelopes[-1]) == phrase
            await until(staff, lambda: any(e.role == "Y" for e in staff.envelopes))
            assert open_text(key, staff.envelopes[-1]) == f"{phrase} (youth)"
            await asyncio.sleep(0.5)  # MONITOR's lines trail the commands a little
    finally:
        watcher.cancel()
        await connection.disconnect()
        await client.aclose()
    prefix = redis_server.env["VH_BROKER_PREFIX"]
    relayed = [line for line in seen if line.upper().startswith("PUBLISH") and prefix in line]
    assert len(relayed) >= 2, "MONITOR saw too little of this server's traffic to prove anything"
    forms = {name: form.decode("latin-1") for name, form in encodings(phrase).items()}
    assert [name for line in seen for name, form in forms.items() if form in line] == []


async def _chat_then_redis_stops(harness: Harness, redis: RedisServer) -> Chat:
    """A chat with one envelope stored, then Redis stopped under it."""
    chat = await harness.chat(envelopes=1)
    redis.stop()
    await asyncio.sleep(0.5)
    return chat


async def test_a_close_lost_while_redis_was_down_reaches_both_sides_when_it_returns(
    outage: tuple[Server, RedisServer],
) -> None:
    """The young person ends the chat while Redis is stopped: the ``Closed`` published then is
    lost, and no later envelope would show a gap. Once Redis is back, each side's link catches
    up from the store, finds the conversation closed and says so, without any reconnect."""
    server, redis = outage
    async with Harness(server) as harness:
        chat = await _chat_then_redis_stops(harness, redis)
        youth, staff = chat.youth, chat.staff
        await youth.send({"type": "close"})
        with pytest.raises(TimeoutError):  # the close went nowhere: Redis is down
            await staff.expect("closed", timeout=2.0)
        redis.start()
        closed = await staff.expect("closed", timeout=20)
        assert (closed["conv"], closed["by"], closed["reason"]) == (chat.conv, "youth", "closed")
        frames, _code = await frames_until_closed(youth, timeout=20)
        assert any(f.get("type") == "closed" and f["conv"] == chat.conv for f in frames)
    assert server.alive(), server.log()


async def test_a_requeue_lost_while_redis_was_down_reaches_the_young_person_when_it_returns(
    outage: tuple[Server, RedisServer],
) -> None:
    """The counsellor sends the chat back to a queue nobody serves while Redis is stopped: the
    ``Requeued`` for the young person's ticket is lost. Once Redis is back, the youth socket
    asks the database where its ticket is and is told ``requeued``, then its place, without
    reconnecting."""
    server, redis = outage
    async with Harness(server) as harness:
        chat = await _chat_then_redis_stops(harness, redis)
        youth, staff = chat.youth, chat.staff
        await staff.transfer(chat.conv, mode="cold", queue="youth", skill="police", confirm=True)
        assert (await staff.expect("transferred", timeout=10))["conv"] == chat.conv
        with pytest.raises(TimeoutError):  # the requeue went nowhere: Redis is down
            await youth.expect("requeued", timeout=2.0)
        redis.start()
        requeued = await youth.expect("requeued", timeout=20)
        assert requeued == {"type": "requeued", "conv": chat.conv, "reason": None}
        assert (await youth.expect("position", timeout=20))["position"] == 1
    assert server.alive(), server.log()
