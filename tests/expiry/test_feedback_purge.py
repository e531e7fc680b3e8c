"""The after-chat feedback's once-only flag lives on the ticket and goes with it when the purge
deletes the chat; the anonymous counts stay (issue 12 §3), SQLite and PostgreSQL."""

from __future__ import annotations

import time

from app.chat.retention import DAY
from tests.conftest import Server
from tests.expiry.world import purge, rows
from tests.support import Harness, call


async def test_the_flag_goes_with_the_ticket_and_the_counts_stay(server: Server) -> None:
    async with Harness(server) as h:
        chat = await h.chat(envelopes=1)
        await chat.youth.send({"type": "close"})
        await chat.youth.expect("closed")
        ticket = chat.youth.ticket
        status, body = await call(
            server, "POST", "/api/youth/feedback", {"ticket": ticket, "answer": "yes"}
        )
        assert status == 204, body
    assert await rows(server, "SELECT feedback_given FROM tickets") == [(True,)]

    report = await purge(server, time.time() + 400 * DAY)
    assert report.deleted_conversations == 1
    assert report.deleted_tickets == 1
    assert await rows(server, "SELECT count(*) FROM tickets") == [(0,)]
    query = "SELECT kind, answer, count FROM feedback_counts ORDER BY answer"
    assert await rows(server, query) == [
        ("youth", "no", 0),
        ("youth", "partly", 0),
        ("youth", "yes", 1),
    ]
    # Once the ticket is gone, so is any way to answer with it.
    status, body = await call(
        server, "POST", "/api/youth/feedback", {"ticket": ticket, "answer": "no"}
    )
    assert status == 404, body
    assert body["error"]["code"] == "ticket_unknown"
