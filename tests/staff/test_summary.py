"""The triage summary a counsellor sees for a chat they hold (issue 11), and nobody else."""

from __future__ import annotations

from tests.conftest import Server
from tests.support import Harness, call, new_staff, shared_server, staff_login, unique_language

server = shared_server()


async def test_the_holder_sees_the_triage_answers(server: Server) -> None:
    async with Harness(server) as h:
        language = unique_language()
        account = await new_staff(server, languages=[language])
        staff, _ = await h.console(account)
        await staff.duty(True)
        youth = await h.youth()
        triage = {"language": language, "kind": "professional", "danger_now": False}
        await youth.send({"type": "join", "triage": {**triage, "topic": "control"}})
        await youth.expect("ticket")
        conv = (await youth.wait_paired())["conv"]
        await staff.wait_assigned()
        path = f"/staff/api/conversations/{conv}/summary"
        status, body = await call(server, "GET", path, None, await staff_login(server, account))
        assert status == 200, body
        assert body["kind"] == "professional"
        assert body["language"] == language
        assert body["topic"] == {"id": "control", "label": "Control and restrictions"}
        assert body["danger_now"] is False
        assert body["waited_seconds"] >= 0
        assert set(body) == {
            "kind",
            "language",
            "topic",
            "age_band",
            "danger_now",
            "joined_at",
            "opened_at",
            "waited_seconds",
        }
        other = await staff_login(server, await new_staff(server))
        status, body = await call(server, "GET", path, None, other)
        assert status == 404, body
        status, body = await call(server, "GET", path)
        assert status == 401, body
