"""Nobody waits for nobody (issue 9 items 4-6), on a real server with the reference clients:
a duty device that does not accept is replaced, a ticket nobody on duty can serve is told so
at once (and an urgent one alerts supervisors), and only joins that enter count against the
join limit."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from app.client import CounsellorClient, YouthClient
from tests.conftest import Server
from tests.support import (
    Harness,
    call,
    frames_until_closed,
    new_staff,
    shared_server,
    staff_login,
    unique_language,
)

#: Accepting a segment key must happen this soon (PROTOCOL.md §6.3); the sweep runs every 5 s.
ACCEPT_TIMEOUT = 3.0
SWEEP = 5.0
HELPLINES = [{"name": "BRIS", "phone": "116 111", "hours": "24/7", "url": ""}]


def _hours_file() -> str:
    """Open all day but one minute at 03:00 (so there is a next opening after the current
    hours), with one helpline."""
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    hours = [["00:00", "03:00"], ["03:01", "24:00"]]
    path = Path(tempfile.mkdtemp(prefix="vh-fairness-")) / "opening-hours.json"
    body = {"weekly": {day: hours for day in days}, "helplines": HELPLINES}
    path.write_text(json.dumps(body), "utf-8")
    return str(path)


served = shared_server(
    VH_ACCEPT_TIMEOUT_SECONDS=str(ACCEPT_TIMEOUT), VH_OPENING_HOURS_FILE=_hours_file()
)
#: Joins are refused while nobody is on duty, and three that enter are allowed per window.
door = shared_server(("sqlite",), VH_REFUSE_WHEN_UNSTAFFED="true", VH_YOUTH_JOINS_PER_WINDOW="3")


async def _on_duty(h: Harness, language: str, **kw: Any) -> CounsellorClient:
    staff, _ = await h.console(await new_staff(h.server, languages=[language], **kw))
    await staff.duty(True)
    return staff


async def _connected(h: Harness, staff: CounsellorClient, language: str) -> YouthClient:
    youth = await h.youth(e2e=True)
    await youth.join(language=language)
    conv = (await youth.wait_paired())["conv"]
    await asyncio.gather(staff.wait_keys(conv), youth.wait_connected())
    return youth


async def test_an_acceptance_that_never_comes_sends_the_chat_back_to_the_queue(
    served: Server,
) -> None:
    async with Harness(served) as h:
        language = unique_language()
        silent = await _on_duty(h, language)
        silent.auto_accept = False  # its device gets the key and never accepts it
        youth = await h.youth(e2e=True)
        await youth.join(language=language)
        conv = (await youth.wait_paired())["conv"]
        assert (await silent.wait_assigned())["conv"] == conv
        await silent.wait_keys(conv)
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert (await youth.expect("requeued", ACCEPT_TIMEOUT + SWEEP + 3))["conv"] == conv
        assert loop.time() - start <= ACCEPT_TIMEOUT + SWEEP + 2
        assert (await youth.expect("position"))["position"] == 1
        gone = await silent.expect("transferred")
        assert (gone["conv"], gone["to"], gone["reason"]) == (conv, None, "unaccepted")
        # The device that did not answer gets no more chats: its counsellor is off duty.
        assert (await silent.expect("duty"))["on"] is False
        # A colleague who answers takes it from the front of the queue, in a new segment.
        colleague = await _on_duty(h, language)
        again = await youth.expect("paired")
        assert (again["conv"], again["seg"]) == (conv, 1)
        await asyncio.gather(colleague.wait_keys(conv, 1), youth.wait_connected())


async def test_the_last_counsellor_who_can_serve_going_off_duty_is_said_within_5s(
    served: Server,
) -> None:
    async with Harness(served) as h:
        language = unique_language()
        staff = await _on_duty(h, language, capacity=1)
        await _connected(h, staff, language)  # the only seat is taken
        waiting = await h.youth(e2e=True)
        await waiting.join(language=language)
        assert (await waiting.expect("position"))["position"] == 1
        assert not any(f["type"] == "unserved" for f in waiting.inbox)

        loop = asyncio.get_running_loop()
        await staff.duty(False)
        start = loop.time()
        told = await waiting.expect("unserved", 5.0)
        assert loop.time() - start <= 5.0
        assert told["emergency"] == "112"
        assert "112" in told["message"]
        assert told["helplines"] == HELPLINES
        assert isinstance(told["next_opening"], int)
        # The socket stays open and the place is kept: waiting goes on.
        assert (await waiting.expect("position"))["position"] == 1

        # Back on duty (still full): someone can serve it again, and it is said.
        await staff.duty(True)
        await waiting.expect("served", 5.0)
        await staff.duty(False)
        await waiting.expect("unserved", 5.0)
        await waiting.send({"type": "leave"})
        await waiting.expect("left")


async def test_an_urgent_ticket_nobody_can_serve_alerts_the_board_at_once(
    served: Server,
) -> None:
    async with Harness(served) as h:
        nobody_speaks = unique_language()
        youth = await h.youth()
        await youth.send(
            {
                "type": "join",
                "triage": {"language": nobody_speaks, "kind": "youth", "danger_now": True},
            }
        )
        await youth.expect("ticket")
        told = await youth.expect("unserved", 5.0)
        assert told["message"].startswith("if you are in danger now, call 112")
        supervisor = await new_staff(served, alias="Vera", role="supervisor")
        credentials = await staff_login(served, supervisor)
        status, board = await call(served, "GET", "/staff/api/board", credentials=credentials)
        assert status == 200
        urgent = [a for a in board["alerts"] if a["kind"] == "unservable_urgent"]
        assert urgent
        assert urgent[0]["queue"] == "youth"


async def test_console_shows_whether_a_queue_is_served_before_a_transfer(
    served: Server,
) -> None:
    async with Harness(served) as h:
        language = unique_language()
        staff = await _on_duty(h, language)
        youth = await _connected(h, staff, language)
        assert staff.credentials is not None
        ask = f"/staff/api/queue-served?conv={youth.conv}&queue=youth&skill=police"
        status, body = await call(served, "GET", ask, credentials=staff.credentials)
        assert (status, body) == (200, {"queue": "youth/police", "served": False})
        await _on_duty(h, language, skills=["youth", "police"])
        status, body = await call(served, "GET", ask, credentials=staff.credentials)
        assert (status, body) == (200, {"queue": "youth/police", "served": True})
        other = f"/staff/api/queue-served?conv={'A' * 22}&queue=youth"
        status, body = await call(served, "GET", other, credentials=staff.credentials)
        assert status == 404
        status, body = await call(served, "GET", ask.replace("youth&", "elders&"))
        assert status in (401, 422)


def _join_frame() -> dict[str, Any]:
    return {"type": "join", "triage": {"language": "sv", "kind": "youth", "danger_now": False}}


async def _refused(h: Harness) -> dict[str, Any]:
    youth = await h.youth()
    await youth.send(_join_frame())
    frames, code = await frames_until_closed(youth)
    assert [f["type"] for f in frames] == ["error"]
    assert code == 1013
    frame: dict[str, Any] = frames[0]
    return frame


async def test_refused_joins_do_not_count_against_the_join_limit(door: Server) -> None:
    async with Harness(door) as h:
        for _ in range(4):  # nobody on duty: four refusals, none of which counts
            refused = await _refused(h)
            assert refused["code"] == "no_one_on_duty"
            assert (refused["emergency"], refused["retry_after"]) == ("112", 60)
            assert "112" in refused["message"]
        staff, _ = await h.console(await new_staff(door))
        await staff.duty(True)
        for _ in range(3):  # now three joins enter the queue
            youth = await h.youth()
            assert await youth.join()
        limited = await _refused(h)  # the fourth that would enter is over the limit
        assert limited["code"] == "too_many_joins"
        assert 1 <= limited["retry_after"] <= 601
        assert limited["emergency"] == "112"
        assert "112" in limited["message"]
        assert isinstance(limited["helplines"], list)
