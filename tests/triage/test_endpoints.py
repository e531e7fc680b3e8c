"""The triage over a real server: the questions endpoint, join answers, entry refusals with
alternatives, position frames with estimates, and the supervisors' board (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import Database, Server, start_server
from tests.support import (
    Harness,
    expect_error,
    frames_until_closed,
    new_staff,
    shared_server,
    staff_login,
    unique_language,
)

served = shared_server()
staffed_only = shared_server(VH_REFUSE_WHEN_UNSTAFFED="true")


def _join(language: str, **answers: object) -> dict[str, Any]:
    triage = {"language": language, "kind": "youth", "danger_now": False, **answers}
    return {"type": "join", "triage": triage}


async def _get(server: Server, path: str, cookie: tuple[str, str] | None = None) -> httpx.Response:
    headers = {} if cookie is None else {"Cookie": f"{cookie[0]}={cookie[1]}"}
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        return await client.get(path, headers=headers)


# ---------------------------------------------------------------------- questions


async def test_questions_in_each_language_without_cookies(served: Server) -> None:
    response = await _get(served, "/api/triage/questions?lang=ar")
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    body = response.json()
    assert body["dir"] == "rtl"
    assert [q["id"] for q in body["questions"]] == [
        "language",
        "kind",
        "topic",
        "danger_now",
        "age_band",
    ]
    default = (await _get(served, "/api/triage/questions")).json()
    assert default["lang"] == "sv"
    for bad in ("de", "<b>", "x" * 20):
        refused = await _get(served, f"/api/triage/questions?lang={bad}")
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "invalid_request"
        assert "<b>" not in refused.text


async def test_answers_are_checked_against_the_question_set(served: Server) -> None:
    language = unique_language()
    async with Harness(served) as h:
        youth = await h.youth()
        await youth.send(_join(language, topic="weather"))
        frame = await expect_error(youth, "bad_triage")
        assert "topic" in frame["message"]
        await youth.send(_join(language, topic="Forced marriage"))  # not an option id
        await expect_error(youth, "bad_triage")
        await youth.send(_join(language, topic="forced_marriage", age_band="16_17"))
        assert len((await youth.expect("ticket"))["ticket"]) == 22
        position = await youth.expect("position")
        # Nobody could serve this language: no honest estimate, said as null.
        assert position == {"type": "position", "position": 1, "waiting": 1, "estimate": None}


# ---------------------------------------------------------------------- entry refusals


async def test_nobody_on_duty_is_told_with_112(staffed_only: Server) -> None:
    async with Harness(staffed_only) as h:
        youth = await h.youth()
        await youth.send(_join(unique_language(), danger_now=True))
        frames, code = await frames_until_closed(youth)
        assert [f["type"] for f in frames] == ["error"]  # no ticket, never a silent wait
        refusal = frames[0]
        assert refusal["code"] == "no_one_on_duty"
        assert refusal["message"].startswith("if you are in danger now, call 112")
        assert refusal["emergency"] == "112"
        assert refusal["helplines"] == []
        assert refusal["next_opening"] is None
        assert code == 1013


@pytest.fixture
def closed_server(empty_database: Database, tmp_path: Path) -> Iterator[Server]:
    """Open only tomorrow 09:00-17:00 in Stockholm, with one other helpline."""
    zone = ZoneInfo("Europe/Stockholm")
    tomorrow = (datetime.now(zone) + timedelta(days=1)).date()
    config = tmp_path / "hours.json"
    config.write_text(
        json.dumps(
            {
                "weekly": {},
                "exceptions": {tomorrow.isoformat(): [["09:00", "17:00"]]},
                "helplines": [{"name": "BRIS", "phone": "116 111", "hours": "24/7"}],
            }
        ),
        "utf-8",
    )
    srv = start_server(empty_database, tmp_path, VH_OPENING_HOURS_FILE=str(config))
    try:
        yield srv
    finally:
        srv.stop()


async def test_closed_hours_give_the_next_opening_and_helplines(closed_server: Server) -> None:
    zone = ZoneInfo("Europe/Stockholm")
    tomorrow = (datetime.now(zone) + timedelta(days=1)).date()
    opens = int(datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=zone).timestamp())
    async with Harness(closed_server) as h:
        youth = await h.youth()
        await youth.send(_join("sv"))
        frames, code = await frames_until_closed(youth)
        assert [f["code"] for f in frames] == ["closed"]
        assert frames[0]["next_opening"] == opens
        assert frames[0]["helplines"] == [
            {"name": "BRIS", "phone": "116 111", "hours": "24/7", "url": ""}
        ]
        assert "112" in frames[0]["message"]
        assert code == 1013


# ---------------------------------------------------------------------- the board


async def test_board_is_for_supervisors(served: Server) -> None:
    assert (await _get(served, "/staff/api/board")).status_code == 401
    counsellor = await new_staff(served)
    credentials = await staff_login(served, counsellor)
    cookie = (credentials.cookie_name, credentials.cookie)
    refused = await _get(served, "/staff/api/board", cookie)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"

    language = unique_language()
    async with Harness(served) as h:
        youth = await h.youth()
        await youth.send(_join(language, danger_now=True))
        await youth.expect("ticket")
        supervisor = await new_staff(served, role="supervisor")
        credentials = await staff_login(served, supervisor)
        board = await _get(
            served, "/staff/api/board", (credentials.cookie_name, credentials.cookie)
        )
    assert board.status_code == 200
    body = board.json()
    assert body["open"] is True
    mine = [q for q in body["queues"] if language in q["languages"]]
    assert mine
    assert mine[0]["queue"] == "youth"
    assert mine[0]["urgent"] >= 1
    kinds = {a["kind"] for a in body["alerts"]}
    if not body["on_duty"]:
        assert "nobody_on_duty" in kinds
    assert ticket_free(body)


def ticket_free(body: dict[str, Any]) -> bool:
    """Nothing in the board names a ticket or a young person."""
    text = json.dumps(body)
    return "ticket" not in text and "token" not in text
