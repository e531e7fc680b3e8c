"""Nobody waits for nobody, in the browser (issue 9 items 4-6; SAFETY S-22, S-23, S-24): the
real youth page and staff console on a real server, with the Python counsellor client where a
console must misbehave."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import Database, Server, StaffAccount, start_server
from tests.e2e.conftest import EXIT_PATH, Contexts, staff_account
from tests.e2e.pages import (
    enter_enrol_code,
    handed_over,
    open_console,
    send,
    start_youth_chat,
    wait_paired,
)
from tests.support import Harness

pytestmark = pytest.mark.browser

ACCEPT_TIMEOUT = 3
SWEEP = 5
HELPLINES = [{"name": "BRIS", "phone": "116 111", "hours": "24/7"}]


@pytest.fixture
def server(
    request: pytest.FixtureRequest, empty_database: Database, tmp_path: Path
) -> Iterator[Server]:
    """Open all day but the minute at 03:00 (so there is a next opening), one helpline, a
    short acceptance timeout; ``request.param``: more settings."""
    hours = tmp_path / "opening-hours.json"
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    weekly = {day: [["00:00", "03:00"], ["03:01", "24:00"]] for day in days}
    hours.write_text(json.dumps({"weekly": weekly, "helplines": HELPLINES}), "utf-8")
    srv = start_server(
        empty_database,
        tmp_path,
        VH_QUICK_EXIT_URL=EXIT_PATH,
        VH_OPENING_HOURS_FILE=str(hours),
        VH_ACCEPT_TIMEOUT_SECONDS=str(ACCEPT_TIMEOUT),
        **getattr(request, "param", {}),
    )
    try:
        yield srv
    finally:
        srv.stop()


def test_a_new_console_of_a_counsellor_on_duty_takes_over_with_its_own_device(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    """Console A goes on duty and is closed abruptly; the counsellor logs in on browser B,
    which shows "on duty": the next chat is sealed to B's device and works."""
    context_a = contexts.new()
    console_a = context_a.new_page()
    open_console(console_a, server, counsellor)
    context_a.close()  # no "Go off duty", no logout: the browser is gone

    console_b = contexts.page()  # another browser: its own device keys
    console_b.goto(server.base_url + "/staff")
    console_b.get_by_label("Username").fill(counsellor.username)
    console_b.get_by_label("Password").fill(counsellor.password)
    console_b.get_by_label("6-digit code").fill(counsellor.code(time.time() + 30))
    console_b.get_by_role("button", name="Log in").click()
    on_duty = console_b.get_by_role("status").filter(has_text="Connected. On duty.")
    enter_enrol_code(console_b, server, counsellor, on_duty)  # B is a new device
    expect(on_duty).to_be_visible()
    expect(console_b.get_by_role("button", name="Go off duty")).to_be_visible()

    youth = contexts.page()
    start_youth_chat(youth, server)
    wait_paired(youth, "Sara")
    panel = console_b.locator("[data-chat]")
    send(youth, "Hej, hör du mig?")
    expect(panel.locator(".message-body")).to_have_text(["Hej, hör du mig?"])
    send(console_b, "Ja, jag är här.", panel)
    expect(youth.locator("[role=log] .message-body").last).to_have_text("Ja, jag är här.")
    expect(console_b.get_by_text("sealed to another of your devices")).to_have_count(0)


async def _silent_console(server: Server, account: StaffAccount, ready: threading.Event) -> Any:
    """A console on duty whose device gets the key and never accepts it."""
    async with Harness(server) as h:
        staff, _ = await h.console(account, auto_accept=False)
        await staff.duty(True)
        ready.set()
        conv = (await staff.wait_assigned(30))["conv"]
        await staff.wait_keys(conv, 0, 30)
        gone = await staff.expect("transferred", 30)
        duty = await staff.expect("duty", 30)
        return gone, duty


def test_an_acceptance_that_never_comes_tells_the_young_person_and_requeues(
    contexts: Contexts,
    server: Server,
    counsellor: StaffAccount,
    in_thread: Callable[..., Future[Any]],
) -> None:
    ready = threading.Event()
    silent = in_thread(_silent_console, server, counsellor, ready)
    assert ready.wait(20)
    youth = contexts.page()
    start_youth_chat(youth, server)
    expect(youth.locator("[data-chat-status]")).to_contain_text("Waiting for Sara to confirm")
    started = time.monotonic()
    told = youth.get_by_text("Sara could not connect in time")
    expect(told).to_be_visible(timeout=(ACCEPT_TIMEOUT + SWEEP + 3) * 1000)
    assert time.monotonic() - started <= ACCEPT_TIMEOUT + SWEEP + 3
    expect(youth.locator("[data-chat-status]")).to_contain_text("number 1 in the queue")
    gone, duty = silent.result(timeout=20)
    assert (gone["reason"], duty["on"]) == ("unaccepted", False)

    # The front of the queue: the next counsellor who answers takes the chat.
    nora = staff_account(server, "counsellor2", "Nora")
    console = contexts.page()
    open_console(console, server, nora)
    wait_paired(youth, "Nora")
    send(youth, "Hej Nora")
    expect(console.locator("[data-chat] .message-body")).to_have_text(["Hej Nora"])


def test_nobody_who_can_serve_is_said_within_5s_with_keep_waiting_or_leave(
    contexts: Contexts, server: Server
) -> None:
    sara = staff_account(server, "counsellor3", "Sara", capacity=1)
    console = contexts.page()
    open_console(console, server, sara)
    first = contexts.page()
    start_youth_chat(first, server)
    wait_paired(first, "Sara")
    waiting = contexts.page()
    start_youth_chat(waiting, server)
    status = waiting.locator("[data-queue-status]")
    expect(status).to_contain_text("You are number 1 in the queue")
    notice = waiting.locator("[data-unserved]")
    expect(notice).to_be_hidden()

    console.get_by_role("button", name="Go off duty").click()  # the last who can serve
    expect(notice).to_be_visible(timeout=5_000)
    expect(notice).to_contain_text("no counsellor who can answer your chat is on duty")
    expect(notice).to_contain_text("call 112")
    expect(notice).to_contain_text("Counsellors are expected again when the chat next opens")
    expect(notice.get_by_role("listitem")).to_have_text(["BRIS: 116 111 (24/7)"])
    expect(notice.get_by_role("link", name="116 111")).to_have_attribute("href", "tel:116111")
    notice.get_by_role("button", name="Keep waiting").click()
    expect(notice).to_contain_text("You keep your place")
    expect(status).to_contain_text("You are number 1 in the queue")  # the socket stays open

    console.get_by_role("button", name="Go on duty").click()
    expect(notice).to_be_hidden(timeout=5_000)  # "served": someone can answer again
    expect(status).to_contain_text("You are number 1 in the queue")
    console.get_by_role("button", name="Go off duty").click()
    expect(notice).to_be_visible(timeout=5_000)
    notice.get_by_role("button", name="Leave").click()
    expect(waiting.get_by_role("button", name="Start chat")).to_be_visible()
    expect(notice).to_be_hidden()


def test_a_cold_transfer_to_a_queue_nobody_serves_needs_confirmation(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    console = contexts.page()
    open_console(console, server, counsellor)
    youth = contexts.page()
    start_youth_chat(youth, server)
    wait_paired(youth, "Sara")
    panel = console.locator("[data-chat]")
    panel.get_by_role("button", name="Transfer…").click()
    panel.get_by_label("Transfer to").select_option("queue")
    panel.get_by_label("Skill").select_option("police")
    panel.get_by_label("Cold: hand it over now").check()
    served = panel.locator("[data-transfer-served]")
    expect(served).to_contain_text("Nobody else on duty can serve this queue now")
    confirm = panel.get_by_label("Transfer anyway")
    expect(confirm).to_be_visible()
    panel.get_by_role("button", name="Transfer", exact=True).click()
    expect(panel.locator("[data-transfer-status]")).to_contain_text(
        "nobody else on duty can serve that queue now"
    )
    expect(panel).to_have_count(1)  # the chat stays
    expect(youth.get_by_role("textbox", name="Message")).to_be_enabled()

    panel.get_by_label("Transfer to").select_option("queue")
    panel.get_by_label("Skill").select_option("police")
    panel.get_by_label("Cold: hand it over now").check()
    panel.get_by_label("Transfer anyway").check()
    panel.get_by_role("button", name="Transfer", exact=True).click()
    handed_over(console)
    notice = youth.locator("[data-unserved]")
    expect(notice).to_be_visible(timeout=5_000)
    expect(notice).to_contain_text("call 112")


@pytest.mark.parametrize("server", [{"VH_YOUTH_JOINS_PER_WINDOW": "1"}], indirect=True)
def test_a_join_over_the_limit_is_told_when_to_retry_with_112_and_helplines(
    contexts: Contexts, server: Server
) -> None:
    start_youth_chat(contexts.page(), server)  # the one join of the window enters
    page = contexts.page()
    page.goto(server.base_url + "/en/chat")
    page.get_by_label("I am a young person").check()
    page.get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Start chat").click()
    status = page.get_by_role("region", name="Too many attempts from here")
    expect(status.get_by_role("heading", level=2)).to_have_text("Too many attempts from here")
    expect(status).to_contain_text("call 112")
    expect(status).to_contain_text("You can try again in about 10 minutes.")
    expect(status.locator(".helplines").get_by_role("listitem")).to_have_text(
        ["BRIS: 116 111 (24/7)"]
    )
