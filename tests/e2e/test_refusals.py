"""Every refusal at the door is a full, calm screen and never a dead end (issue 12 §3), in
Swedish and in Arabic, each made to happen for real: closed hours, nobody on duty, a full queue
and too many joins. Each screen is a region with a heading that takes the focus, 112 as a
``tel:`` link, the helplines, the next opening or the retry time, and a retry that joins again
in place (no reload); where the door opens meanwhile (someone goes on duty, a place frees up)
the retry gets the young person into the queue. axe runs on every screen."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from app.client import CounsellorClient, YouthClient, login
from tests.conftest import Database, Server, StaffAccount, _enrol_code, start_server
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import EXIT_PATH, Contexts, staff_account

# The pages' own behaviour (forms, wording, layout): the embedded pass is enough; the chats
# across the broker run on both stacks (tests/conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.stack_free]
Shot = Callable[[Any, str], None]

HELPLINES = [{"name": "BRIS", "phone": "116 111", "hours": "24/7"}]
ALL_DAY = [["00:00", "24:00"]]
ONE_MINUTE = [["03:00", "03:01"]]  # a run inside that minute is a 1 in 1,440 chance
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: Each refusal: how the server is set up to make it happen.
DOORS: dict[str, dict[str, str]] = {
    "closed": {"VH_REFUSE_WHEN_UNSTAFFED": "true"},
    "no_one_on_duty": {"VH_REFUSE_WHEN_UNSTAFFED": "true"},
    "queue_full": {"VH_QUEUE_CAP": "1"},
    "too_many_joins": {"VH_YOUTH_JOINS_PER_WINDOW": "1"},
}

WORDS = {
    "sv": {
        "closed": "Chatten är stängd just nu",
        "no_one_on_duty": "Ingen kurator är i tjänst just nu",
        "queue_full": "Kön är full just nu",
        "too_many_joins": "För många försök härifrån",
        "opens": "Chatten öppnar igen",
        "retry_in": "Du kan försöka igen om",
        "retry": "Försök igen",
        "again": "Vi försökte igen nyss, men svaret är detsamma.",
        "queue": "Du är nummer 1 i kön",
        "start": "Starta chatten",
    },
    "ar": {
        "closed": "المحادثة مغلقة الآن",
        "no_one_on_duty": "لا يوجد مستشار مناوب الآن",
        "queue_full": "قائمة الانتظار ممتلئة الآن",
        "too_many_joins": "محاولات كثيرة جدًا من هنا",
        "opens": "",
        "retry_in": "",
        "retry": "حاول مرة أخرى",
        "again": "حاولنا مرة أخرى الآن، لكن الجواب ما زال نفسه.",
        "queue": "أنت رقم 1 في قائمة الانتظار",
        "start": "ابدأ المحادثة",
    },
}


@pytest.fixture
def server(
    request: pytest.FixtureRequest, empty_database: Database, tmp_path: Path
) -> Iterator[Server]:
    door = request.param
    hours = tmp_path / "opening-hours.json"
    weekly = {day: ONE_MINUTE if door == "closed" else ALL_DAY for day in DAYS}
    document = {"timezone": "Europe/Stockholm", "weekly": weekly, "helplines": HELPLINES}
    hours.write_text(json.dumps(document), "utf-8")
    env = {"VH_QUICK_EXIT_URL": EXIT_PATH, "VH_OPENING_HOURS_FILE": str(hours), **DOORS[door]}
    srv = start_server(empty_database, tmp_path, **env)
    try:
        yield srv
    finally:
        srv.stop()


async def _join_and_go(base_url: str) -> str:
    """A Python young person joins (taking the one join, or the one place) and drops the
    socket: the ticket keeps waiting until it leaves or its grace runs out."""
    youth = YouthClient(base_url)
    await youth.connect()
    try:
        triage = {"language": "sv", "kind": "youth", "danger_now": False}
        await youth.send({"type": "join", "triage": triage})
        return str((await youth.expect("ticket"))["ticket"])
    finally:
        await youth.close()


def _leave(base_url: str, ticket: str) -> None:
    request = urllib.request.Request(  # noqa: S310 - our own test server
        base_url + "/api/youth/leave",
        data=json.dumps({"ticket": ticket}).encode(),
        headers={"Content-Type": "application/json", "Origin": base_url},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 204


async def _on_duty(server: Server, account: StaffAccount, ready: threading.Event) -> None:
    """A Python counsellor goes on duty and stays until a chat is assigned."""
    base_url = server.base_url
    credentials = await asyncio.to_thread(
        login, base_url, account.username, account.password, account.code()
    )
    code = await _enrol_code(server.database, account.staff_id)
    staff = CounsellorClient(base_url, enrol_code=code)
    await staff.connect(credentials)
    try:
        await staff.duty(True)
        ready.set()
        await staff.wait_assigned(timeout=30)
    finally:
        await staff.close()


def _joins(page: Any) -> list[str]:
    sent: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framesent",
            lambda payload: sent.append(payload) if '"type":"join"' in str(payload) else None,
        ),
    )
    return sent


@pytest.mark.parametrize("lang", ["sv", "ar"])
@pytest.mark.parametrize("server", list(DOORS), indirect=True)
def test_every_refusal_is_a_screen_with_112_helplines_and_a_retry_in_place(
    contexts: Contexts, server: Server, in_thread: Any, shot: Shot, lang: str, request: Any
) -> None:
    door = request.node.callspec.params["server"]
    words = WORDS[lang]
    before: str | None = None
    if door in ("queue_full", "too_many_joins"):
        before = in_thread(_join_and_go, server.base_url).result(timeout=20)

    page = contexts.page()
    page.set_viewport_size({"width": 360, "height": 640})
    joins = _joins(page)
    page.goto(server.base_url + f"/{lang}/chat")
    marker = page.evaluate("() => (window.vhMarker = Math.random())")
    page.locator("#danger-no").check()
    page.get_by_role("button", name=words["start"]).click()

    screen = page.get_by_role("region", name=words[door])
    expect(screen).to_be_visible()
    expect(screen).to_be_focused()
    expect(screen.get_by_role("heading", level=2)).to_have_text(words[door])
    expect(screen.get_by_role("link", name="112")).to_have_attribute("href", "tel:112")
    helpline = screen.locator(".helplines").get_by_role("listitem")
    expect(helpline).to_have_text(["BRIS: 116 111 (24/7)"])
    expect(helpline.get_by_role("link")).to_have_attribute("href", "tel:116111")
    when = screen.locator("[data-refusal-when]")
    expect(when).not_to_be_empty()
    if lang == "sv":
        expect(when).to_contain_text(words["opens"] if door == "closed" else words["retry_in"])
    expect(page.locator("[data-queue]")).to_be_hidden()
    expect(page.locator("[data-triage]")).to_be_hidden()
    shot(page, f"{door}")
    assert_accessible(page, f"{door} refusal, {lang}")

    if door == "no_one_on_duty":  # the door opens: someone goes on duty
        account = staff_account(server, f"sara-{lang}", "Sara", languages=["sv", "ar"])
        ready = threading.Event()
        in_thread(_on_duty, server, account, ready)
        assert ready.wait(20)
    elif door == "queue_full":  # a place frees up
        assert before is not None
        _leave(server.base_url, before)

    screen.get_by_role("button", name=words["retry"]).click()
    if door in ("closed", "too_many_joins"):
        # Still refused: the same screen, said to have been tried again, and focused again.
        expect(screen.locator("[data-refusal-status]")).to_have_text(words["again"])
        expect(screen).to_be_focused()
        expect(screen.get_by_role("button", name=words["retry"])).to_be_enabled()
        shot(page, f"{door}-again")
    else:
        expect(screen).to_be_hidden()
        shown = page.locator("[data-queue], [data-conversation]").filter(visible=True)
        expect(shown).to_have_count(1)
        if door == "queue_full":
            expect(page.locator("[data-queue-status]")).to_contain_text(words["queue"])
    assert len(joins) == 2  # joined again, over a new socket
    assert page.evaluate("() => window.vhMarker") == marker  # in place: no reload


@pytest.mark.parametrize("server", ["closed"], indirect=True)
def test_a_refusal_leads_back_to_the_questions(
    contexts: Contexts, server: Server, shot: Shot
) -> None:
    page = contexts.page()
    page.goto(server.base_url + "/sv/chat")
    page.locator("#danger-yes").check()
    page.get_by_role("button", name=WORDS["sv"]["start"]).click()
    screen = page.get_by_role("region", name=WORDS["sv"]["closed"])
    expect(screen).to_be_visible()
    screen.get_by_role("button", name="Tillbaka till frågorna").click()
    expect(page.locator("[data-triage]")).to_be_visible()
    expect(page.locator("#triage-title")).to_be_focused()
    expect(page.locator("#danger-yes")).not_to_be_checked()
