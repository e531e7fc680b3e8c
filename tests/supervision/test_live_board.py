"""The live board over the staff socket (issue 11): pushed to supervisors, refused to
counsellors, a join on it within about a second, alerts acknowledged (audited), no content."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from app.client import CounsellorClient
from tests.conftest import Server
from tests.expiry.world import rows
from tests.support import Harness, call, new_staff, shared_server, staff_login, unique_language

server = shared_server()


async def _next_board(client: CounsellorClient, done: Any, timeout: float = 5.0) -> dict[str, Any]:
    """Boards until one satisfies ``done`` (the feed pushes about once a second)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await client.recv(max(0.01, deadline - loop.time()))
        if frame["type"] == "board" and done(frame):
            return frame


async def test_the_board_is_pushed_to_supervisors_only(server: Server) -> None:
    async with Harness(server) as h:
        counsellor, _ = await h.console(await new_staff(server))
        await counsellor.send({"type": "watch_board"})
        error = await counsellor.expect("error")
        assert error["code"] == "forbidden"

        supervisor, _ = await h.console(await new_staff(server, alias="Lena", role="supervisor"))
        await supervisor.send({"type": "watch_board"})
        first = await supervisor.expect("board")
        assert set(first) >= {"open", "now", "queues", "on_duty", "chats", "alerts"}

        language = unique_language()
        staff, _ = await h.console(await new_staff(server, alias="Maja", languages=[language]))
        await staff.duty(True)
        loop = asyncio.get_running_loop()
        joined = loop.time()
        youth, conv = await h.pair(staff, language)
        seen = await _next_board(
            supervisor, lambda b: any(c["language"] == language for c in b["chats"])
        )
        assert loop.time() - joined < 3.0  # a requirement of the issue: within 2 s of the change
        chat = next(c for c in seen["chats"] if c["language"] == language)
        assert chat["counsellor"] == "Maja"
        assert set(chat) == {
            "counsellor",
            "queue",
            "language",
            "urgent",
            "opened_at",
            "duration_seconds",
            "waited_seconds",
        }
        assert conv not in json.dumps(seen)  # no conversation id, no content
        maja = next(c for c in seen["on_duty"] if c["alias"] == "Maja")
        assert (maja["load"], maja["status"]) == (1, "busy")
        del youth


async def test_an_alert_is_acknowledged_and_audited(server: Server) -> None:
    async with Harness(server) as h:
        supervisor_account = await new_staff(server, alias="Lena", role="supervisor")
        supervisor, _ = await h.console(supervisor_account)
        creds = await staff_login(server, supervisor_account)
        await supervisor.send({"type": "watch_board"})
        # A young person in a language nobody on duty speaks, urgent: an alert at once.
        language = unique_language()
        youth = await h.youth()
        await youth.join(language=language, danger_now=True)
        board = await _next_board(
            supervisor,
            lambda b: any(a["kind"] == "unservable_urgent" for a in b["alerts"]),
        )
        alert = next(a for a in board["alerts"] if a["kind"] == "unservable_urgent")
        assert alert["acked_by"] is None
        queue = next(q for q in board["queues"] if language in q["languages"])
        assert queue["unservable"] >= 1

        counsellor = await staff_login(server, await new_staff(server))
        status, body = await call(
            server, "POST", "/staff/api/alerts/ack", {"key": alert["key"]}, counsellor
        )
        assert status == 403, body
        status, body = await call(server, "POST", "/staff/api/alerts/ack", {"key": "nope|x"}, creds)
        assert status == 404, body
        status, body = await call(
            server, "POST", "/staff/api/alerts/ack", {"key": alert["key"]}, creds, csrf=False
        )
        assert status == 403, body
        status, _ = await call(
            server, "POST", "/staff/api/alerts/ack", {"key": alert["key"]}, creds
        )
        assert status == 204
        acked = await _next_board(
            supervisor,
            lambda b: any(
                a["key"] == alert["key"] and a["acked_by"] == "Lena" for a in b["alerts"]
            ),
        )
        assert acked["alerts"]
        audited = await rows(
            server,
            "SELECT staff_id, detail FROM audit_log WHERE action = 'alert.acknowledged'",
        )
        assert (supervisor_account.staff_id, "unservable_urgent") in [
            (s, json.loads(d)["kind"]) for s, d in audited
        ]
        # The alert clears when the young person leaves; its acknowledgement is forgotten.
        await youth.send({"type": "leave"})
        await _next_board(supervisor, lambda b: all(a["key"] != alert["key"] for a in b["alerts"]))
        for _ in range(50):
            if not await rows(server, "SELECT 1 FROM alert_acks WHERE key = :k", k=alert["key"]):
                break
            await asyncio.sleep(0.1)
        assert not await rows(server, "SELECT 1 FROM alert_acks WHERE key = :k", k=alert["key"])
