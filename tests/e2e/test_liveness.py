"""Nobody is left alone without anyone knowing (issue 9, SAFETY S-22): the real youth page and the
real console in Chromium on a real server whose grace periods and session limits are short.

- A young person's tab closes mid-chat: the console says "connection lost" at once; after the
  grace the chat ends as abandoned and the counsellor's seat is free for the next young person.
- A connection that drops and comes back within the grace continues the chat; the console says
  the young person is back.
- Logging out with an answered chat asks first; logging out anyway sends the chat back to the
  front of the queue, the young person is told in plain words, and the next counsellor takes it.
- An on-duty console that only reads stays on duty past the idle timeout, with its chats.
- Before the absolute limit the console offers re-authentication, and the chats carry on.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import Database, Server, StaffAccount, start_server
from tests.e2e.conftest import EXIT_PATH, Contexts, staff_account
from tests.e2e.pages import open_console, send, start_youth_chat, wait_paired

pytestmark = pytest.mark.browser

#: Seconds a chat waits for its young person (VH_YOUTH_GRACE_SECONDS), shortened for the tests.
GRACE = 12
#: VH_SESSION_IDLE_SECONDS, shortened: a console that only reads is idle past it within seconds.
IDLE = 6
#: VH_SESSION_ABSOLUTE_SECONDS and VH_SESSION_WARN_SECONDS: warned at once after login.
ABSOLUTE = 45
WARN = 40


@pytest.fixture
def server(empty_database: Database, tmp_path: Path) -> Iterator[Server]:
    srv = start_server(
        empty_database,
        tmp_path,
        VH_QUICK_EXIT_URL=EXIT_PATH,
        VH_YOUTH_GRACE_SECONDS=str(GRACE),
        VH_SESSION_IDLE_SECONDS=str(IDLE),
        VH_SESSION_ABSOLUTE_SECONDS=str(ABSOLUTE),
        VH_SESSION_WARN_SECONDS=str(WARN),
    )
    try:
        yield srv
    finally:
        srv.stop()


def _status_of(server: Server, conv: str) -> str:
    row = server.database.row("SELECT status FROM conversations WHERE id = ?", conv)
    assert row is not None, conv
    return str(row[0])


def _chat(contexts: Contexts, server: Server, account: StaffAccount) -> tuple[Any, Any, Any]:
    """A console on duty and a young person talking with it, one message each way."""
    staff = contexts.page()
    open_console(staff, server, account)
    youth = contexts.page()
    start_youth_chat(youth, server)
    wait_paired(youth, "Sara")
    panel = staff.locator("[data-chat]")
    send(youth, "Hej, det är jag.")
    expect(panel.locator(".message-body")).to_have_text(["Hej, det är jag."])
    send(staff, "Hej, Sara här.", panel)
    expect(youth.locator("[role=log] .message-body")).to_have_text(
        ["Hej, det är jag.", "Hej, Sara här."]
    )
    return staff, panel, youth


def test_a_closed_tab_is_noticed_and_the_abandoned_chat_frees_the_seat(
    contexts: Contexts, server: Server
) -> None:
    sara = staff_account(server, "sara", "Sara", capacity=1)
    staff, panel, youth = _chat(contexts, server, sara)
    conv = panel.get_attribute("data-conv")
    assert conv is not None
    panel = staff.locator(f'[data-chat][data-conv="{conv}"]')

    youth.close()  # no quick exit: the tab just goes (a locked phone is the same case)
    expect(panel.get_by_text("Connection lost").first).to_be_visible(timeout=5_000)
    expect(panel.get_by_text("left suddenly")).to_have_count(0)
    # A console reloaded meanwhile is told too (``hello`` says who is away).
    staff.reload()
    expect(panel.get_by_text("Connection lost").first).to_be_visible(timeout=10_000)

    # Sara's only seat is taken while the chat waits for its young person.
    second = contexts.page()
    start_youth_chat(second, server)
    expect(second.locator("[data-queue-status]")).to_contain_text("number 1 in the queue")

    # After the grace (and the next sweep) the chat ends as abandoned and the seat is free.
    # (The next chat may take the pane at once: the ended one stays listed, out of view.)
    expect(panel.get_by_text("did not come back")).to_be_attached(timeout=(GRACE + 15) * 1000)
    expect(panel.locator("textarea[name=message]")).to_be_disabled()
    assert _status_of(server, conv) == "abandoned"
    wait_paired(second, "Sara")
    expect(staff.locator("[data-chat]")).to_have_count(2)  # the ended one, and the new one


#: Keeps every socket the page opens reachable, so a test can drop one as a train tunnel would;
#: until ``window.__offlineUntil`` (ms) new sockets go nowhere, as in the tunnel.
KEEP_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.__offlineUntil = 0;
  window.WebSocket = class extends Native {
    constructor(url, ...rest) {
      const offline = Date.now() < window.__offlineUntil;
      super(offline ? String(url).replace("/ws/youth", "/ws/offline") : url, ...rest);
      if (!offline) window.__sockets.push(this);
    }
  };
})();
"""


def test_a_resume_within_the_grace_continues_the_chat(contexts: Contexts, server: Server) -> None:
    sara = staff_account(server, "sara", "Sara")
    staff = contexts.page()
    open_console(staff, server, sara)
    youth = contexts.page()
    youth.add_init_script(KEEP_SOCKETS)
    start_youth_chat(youth, server)
    wait_paired(youth, "Sara")
    panel = staff.locator("[data-chat]")
    send(youth, "Hej.")
    expect(panel.locator(".message-body")).to_have_text(["Hej."])

    # The connection drops, and stays away for a few seconds.
    youth.evaluate("window.__offlineUntil = Date.now() + 4000; window.__sockets.at(-1).close()")
    expect(panel.get_by_text("Connection lost").first).to_be_visible(timeout=5_000)
    expect(panel.get_by_text("The young person is back.")).to_be_visible(timeout=15_000)
    assert youth.evaluate("window.__sockets.length") == 2  # back on a new socket (resume)

    # Past the grace the chat still goes on, both ways.
    staff.wait_for_timeout((GRACE + 6) * 1000)
    send(youth, "Jag är tillbaka.")
    expect(panel.locator(".message-body")).to_have_text(["Hej.", "Jag är tillbaka."])
    send(staff, "Vad bra.", panel)
    expect(youth.locator("[role=log] .message-body")).to_have_text(
        ["Hej.", "Jag är tillbaka.", "Vad bra."]
    )
    expect(panel.get_by_text("did not come back")).to_have_count(0)


def test_logout_with_an_answered_chat_asks_first_and_then_hands_it_back(
    contexts: Contexts, server: Server
) -> None:
    sara = staff_account(server, "sara", "Sara")
    staff, panel, youth = _chat(contexts, server, sara)

    staff.get_by_role("button", name="Log out").click()
    alert = staff.locator("[data-open-chats]")
    expect(alert).to_contain_text("Before you log out")
    expect(alert).to_contain_text(re.compile(r"chat [A-Z][2-9]"))
    expect(staff.get_by_role("button", name="Go off duty")).to_be_visible()  # nothing ended
    expect(panel.get_by_label("Transfer to")).to_be_visible()

    staff.get_by_role("button", name="Log out anyway").click()
    expect(staff.get_by_role("button", name="Log in")).to_be_visible()
    log = youth.get_by_role("log", name="Messages", exact=True)
    expect(log).to_contain_text("Sara had to stop and cannot answer any more.")
    expect(log).to_contain_text("you are first in the queue")
    expect(youth.get_by_role("textbox", name="Message")).to_be_disabled()

    ali = staff_account(server, "ali", "Ali")
    other = contexts.page()
    open_console(other, server, ali)
    wait_paired(youth, "Ali")
    send(youth, "Hej Ali.")
    expect(other.locator("[data-chat] .message-body")).to_have_text(["Hej Ali."])


def test_an_on_duty_console_that_only_reads_stays_on_duty(
    contexts: Contexts, server: Server
) -> None:
    sara = staff_account(server, "sara", "Sara")
    staff, panel, youth = _chat(contexts, server, sara)

    staff.wait_for_timeout((IDLE * 2 + 6) * 1000)  # the console sends nothing: reading
    expect(staff.get_by_role("button", name="Go off duty")).to_be_visible()
    expect(staff.get_by_role("button", name="Log in")).to_be_hidden()
    send(youth, "Är du kvar?")
    expect(panel.locator(".message-body")).to_have_text(
        ["Hej, det är jag.", "Hej, Sara här.", "Är du kvar?"]
    )
    send(staff, "Ja, jag läser.", panel)
    expect(youth.locator("[role=log] .message-body").last).to_have_text("Ja, jag läser.")


def test_the_console_offers_reauthentication_before_the_absolute_limit(
    contexts: Contexts, server: Server
) -> None:
    sara = staff_account(server, "sara", "Sara")
    started = time.time()
    staff, panel, youth = _chat(contexts, server, sara)

    form = staff.locator("[data-reauth]")
    expect(form).to_contain_text("Your session ends in about", timeout=15_000)
    form.get_by_label("Password").fill(sara.password)
    form.get_by_label("6-digit code").fill(sara.code(time.time() + 30))  # a new code
    form.get_by_role("button", name="Stay logged in").click()
    expect(staff.get_by_text("You stay logged in")).to_be_visible()
    expect(form).to_have_count(0)

    # Past the first absolute limit the session, the duty and the chat carry on.
    staff.wait_for_timeout(max(0.0, started + ABSOLUTE + 6 - time.time()) * 1000)
    expect(staff.get_by_role("button", name="Go off duty")).to_be_visible()
    send(youth, "Fortfarande här.")
    expect(panel.locator(".message-body").last).to_have_text("Fortfarande här.")


def test_the_young_person_is_told_when_the_counsellor_is_disabled(
    contexts: Contexts, server: Server
) -> None:
    from app.config import Settings
    from app.db import make_engine, make_sessionmaker, transaction
    from app.staff import service as staff_service

    sara = staff_account(server, "sara", "Sara")
    _, _, youth = _chat(contexts, server, sara)

    async def disable() -> list[str]:
        engine = make_engine(Settings(mode="test", database_url=server.database.url))
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                return await staff_service.disable_staff(session, sara.username, time.time())
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:  # another process would do the same
        held = pool.submit(asyncio.run, disable()).result()
    assert len(held) == 1
    log = youth.get_by_role("log", name="Messages", exact=True)
    expect(log).to_contain_text("Sara had to stop", timeout=15_000)
    expect(log).to_contain_text("you are first in the queue")
