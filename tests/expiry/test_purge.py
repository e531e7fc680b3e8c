"""The purge's other duties on a real server's database: a return visit keeps a conversation
(and moves it to a later bucket), two purges at once, wraps stored before buckets existed, and
the ``vhouse purge`` / ``vhouse keys buckets`` commands."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from app.chat.sealing import device_place
from app.crypto import bucket, returncode
from app.kit import b64
from tests.conftest import ROOT, Server
from tests.expiry.world import DAY, chat_with_every_key, purge, rows, sealer_of, write
from tests.support import Harness, call


async def _bucket(server: Server, conv: str) -> str:
    ((wrap_c,),) = await rows(server, "SELECT wrap_c FROM segments WHERE conv_id = :c", c=conv)
    return bucket.week_of_sealed(wrap_c)


async def test_a_return_visit_keeps_the_conversation_and_moves_its_bucket(
    server: Server, tmp_path: Path
) -> None:
    async with Harness(server) as h:
        ended = await chat_with_every_key(h, server, tmp_path)
    # The chat ended 20 days ago (aged in place: the server stamps its own clock).
    now = time.time()
    await write(
        server,
        "UPDATE conversations SET closed_at = closed_at - :d WHERE id = :c",
        d=20 * DAY,
        c=ended.conv,
    )
    await purge(server, now)
    ((first_expiry,),) = await rows(
        server, "SELECT expires_at FROM conversations WHERE id = :c", c=ended.conv
    )
    assert now + 9.9 * DAY < first_expiry < now + 10.1 * DAY
    first_bucket = await _bucket(server, ended.conv)

    locator = b64.encode(returncode.locator(ended.code))
    status, _ = await call(server, "POST", "/api/youth/return", {"locator": locator})
    assert status == 200
    report = await purge(server, now)
    assert report.settled == 1
    assert report.moved == 1
    ((expiry,),) = await rows(
        server, "SELECT expires_at FROM conversations WHERE id = :c", c=ended.conv
    )
    assert now + 29.9 * DAY < expiry < now + 30.1 * DAY
    moved_to = await _bucket(server, ended.conv)
    assert moved_to == sealer_of(server).policy.bucket_for(expiry) > first_bucket
    # Every wrap moved, and still opens.
    for (wrap,) in await rows(
        server, "SELECT wrap FROM return_wraps WHERE conv_id = :c", c=ended.conv
    ):
        assert bucket.week_of_sealed(wrap) == moved_to
    status, _ = await call(server, "POST", "/api/youth/return", {"locator": locator})
    assert status == 200
    # Not gone at its first expiry (nor when the first bucket's key goes); gone at the new one.
    assert (await purge(server, first_expiry + 1)).deleted_conversations == 0
    gone = sealer_of(server).policy.destroy_after(first_bucket) + 1
    assert first_bucket in (await purge(server, gone)).destroyed_buckets
    status, _ = await call(server, "POST", "/api/youth/return", {"locator": locator})
    assert status == 200
    assert (await purge(server, expiry + 1)).deleted_conversations == 1


async def test_two_purges_at_once_delete_each_row_once(server: Server, tmp_path: Path) -> None:
    async with Harness(server) as h:
        first = await chat_with_every_key(h, server, tmp_path)
        second = await chat_with_every_key(h, server, tmp_path)
    later = time.time() + 40 * DAY
    await purge(server, time.time())
    one, two = await asyncio.gather(purge(server, later), purge(server, later))
    assert one.deleted_conversations + two.deleted_conversations == 2
    assert one.deleted_tickets + two.deleted_tickets == 2
    for ended in (first, second):
        query = "SELECT count(*) FROM conversations WHERE id = :c"
        assert (await rows(server, query, c=ended.conv))[0][0] == 0


async def test_wraps_stored_before_buckets_are_sealed_by_the_purge(
    server: Server, tmp_path: Path
) -> None:
    async with Harness(server) as h:
        ended = await chat_with_every_key(h, server, tmp_path, close=False)
    sealer = sealer_of(server)
    ((stored,),) = await rows(
        server, "SELECT wrap_c FROM segments WHERE conv_id = :c", c=ended.conv
    )
    plain = sealer.open(stored, device_place(ended.conv, 0))
    assert plain is not None
    # As an older version stored it: the client's value as it came, and no bucket chosen.
    await write(server, "UPDATE segments SET wrap_c = :w WHERE conv_id = :c", w=plain, c=ended.conv)
    await write(server, "UPDATE conversations SET bucket = NULL WHERE id = :c", c=ended.conv)
    report = await purge(server, time.time())
    assert report.moved >= 1
    ((resealed,),) = await rows(
        server, "SELECT wrap_c FROM segments WHERE conv_id = :c", c=ended.conv
    )
    assert bucket.is_sealed(resealed)
    assert sealer.open(resealed, device_place(ended.conv, 0)) == plain
    assert (await purge(server, time.time())).moved == 0  # nothing left to seal


def _vhouse(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VH_MODE": "test",
        "VH_DATABASE_URL": server.database.url,
        "VH_SERVICE_KEY_FILE": str(server.service_key_file),
    }
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_purge_and_bucket_commands(server: Server, tmp_path: Path) -> None:
    async with Harness(server) as h:
        ended = await chat_with_every_key(h, server, tmp_path)
    done = await asyncio.to_thread(_vhouse, server, "purge")
    assert done.returncode == 0, done.stderr
    assert "conversations given their expiry:   1" in done.stdout
    week = await _bucket(server, ended.conv)
    listed = await asyncio.to_thread(_vhouse, server, "keys", "buckets")
    assert listed.returncode == 0, listed.stderr
    assert week in listed.stdout
    assert "present" in listed.stdout
    # The key directory lost: the command says which conversations can no longer be read.
    sealer_of(server).keys.destroy(week)
    lost = await asyncio.to_thread(_vhouse, server, "keys", "buckets")
    assert lost.returncode == 1
    assert "MISSING" in lost.stdout
    assert f"the bucket key of {week} is missing" in lost.stderr
    assert "Traceback" not in lost.stderr
