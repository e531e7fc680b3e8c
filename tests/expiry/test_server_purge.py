"""The server purges by itself: a conversation past its retention goes without any command."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.conftest import Server
from tests.expiry.world import DAY, chat_with_every_key, rows, write
from tests.support import Harness, shared_server

server = shared_server(VH_RETENTION_DAYS="1", VH_PURGE_INTERVAL_SECONDS="1")


async def test_the_server_purges_an_expired_conversation_by_itself(
    server: Server, tmp_path: Path
) -> None:
    """R-19: The server purges an expired conversation by itself."""
    async with Harness(server) as h:
        ended = await chat_with_every_key(h, server, tmp_path)
        kept = await chat_with_every_key(h, server, tmp_path)
    # One chat ended two days ago (aged in place), the other just now; retention is one day.
    await write(
        server,
        "UPDATE conversations SET closed_at = closed_at - :d, expires_at = NULL WHERE id = :c",
        d=2 * DAY,
        c=ended.conv,
    )
    query = "SELECT count(*) FROM conversations WHERE id = :c"
    for _ in range(200):  # the dispatcher's chores run every 5 s
        if (await rows(server, query, c=ended.conv))[0][0] == 0:
            break
        await asyncio.sleep(0.1)
    assert (await rows(server, query, c=ended.conv))[0][0] == 0, server.log()[-2000:]
    assert (await rows(server, query, c=kept.conv))[0][0] == 1
    ((expires,),) = await rows(
        server, "SELECT expires_at FROM conversations WHERE id = :c", c=kept.conv
    )
    assert expires is not None  # settled by the same purge
    # The report is logged after the purge's last step (the WAL checkpoint), a moment after
    # the rows are gone: wait for it rather than read the log at once.
    line = "purge: 1 conversations and 1 tickets deleted"
    for _ in range(100):
        if line in server.log():
            break
        await asyncio.sleep(0.1)
    assert line in server.log(), server.log()[-2000:]
