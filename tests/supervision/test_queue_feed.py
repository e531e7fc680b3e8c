"""The queue at a glance over the staff socket (issue 11 §1): any counsellor may watch, a join
shows within about a second, the rows say what this counsellor can serve, and nothing of the
young person but queue, language, urgency and times."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from app.client import CounsellorClient
from tests.conftest import Server
from tests.support import Harness, new_staff, shared_server, unique_language

server = shared_server(("sqlite",))


async def _next_queue(client: CounsellorClient, done: Any, timeout: float = 5.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await client.recv(max(0.01, deadline - loop.time()))
        if frame["type"] == "queue" and done(frame):
            return frame


def _row(frame: dict[str, Any], language: str) -> dict[str, Any] | None:
    return next((r for r in frame["rows"] if r["language"] == language), None)


async def test_a_counsellor_sees_the_queue_and_what_they_can_serve(server: Server) -> None:
    mine, other = unique_language(), unique_language()
    async with Harness(server) as h:
        # Off duty: they see the queue before taking a shift; nothing is assigned to them.
        console, _ = await h.console(await new_staff(server, alias="Sara", languages=[mine]))
        await console.send({"type": "watch_queue"})
        first = await console.expect("queue")
        assert set(first) == {"type", "now", "open", "on_duty", "total", "rows"}
        assert first["on_duty"] is False

        loop = asyncio.get_running_loop()
        joined = loop.time()
        youth = await h.youth()
        await youth.join(language=mine, danger_now=True)
        seen = await _next_queue(console, lambda f: _row(f, mine) is not None)
        assert loop.time() - joined < 3.0
        row = _row(seen, mine)
        assert row is not None
        assert (row["queue"], row["waiting"], row["urgent"]) == ("youth", 1, 1)
        assert (row["yours"], row["can_serve"], row["unservable"]) == (1, True, 1)
        assert row["longest_wait_seconds"] >= 0
        assert youth.ticket is not None
        assert youth.ticket not in json.dumps(seen)

        someone = await h.youth()
        await someone.join(language=other)
        seen = await _next_queue(console, lambda f: _row(f, other) is not None)
        row = _row(seen, other)
        assert row is not None
        assert (row["yours"], row["can_serve"]) == (0, False)

        # Watching twice changes nothing; the young person leaving empties the row.
        await console.send({"type": "watch_queue"})
        await youth.send({"type": "leave"})
        await _next_queue(console, lambda f: _row(f, mine) is None)
        await someone.send({"type": "leave"})
        await _next_queue(console, lambda f: _row(f, other) is None)
