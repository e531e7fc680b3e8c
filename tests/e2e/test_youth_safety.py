"""The young person's pages in Chromium: headers, no traces on the device, quick exit
(SAFETY S-1 to S-9, S-13; SECURITY R-13)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from typing import Any

import pytest
from playwright.sync_api import expect

from app.client import CounsellorClient, YouthClient, login
from tests.conftest import Server, StaffAccount, _enrol_code
from tests.e2e.conftest import EXIT_PATH, Contexts
from tests.e2e.pages import send, start_youth_chat, wait_paired

# The pages' own behaviour (forms, wording, layout): the embedded pass is enough; the chats
# across the broker run on both stacks (tests/conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.stack_free]

YOUTH_PAGES = ("/en/", "/en/chat", "/en/chat?for=professional", "/sv/chat", "/ar/chat")
SECRET = "this must vanish on exit"

TRACES_SCRIPT = """
async () => ({
  local: localStorage.length,
  session: sessionStorage.length,
  idb: (await indexedDB.databases()).length,
  workers: (await navigator.serviceWorker.getRegistrations()).length,
  caches: (await caches.keys()).length,
  cookie: document.cookie,
})
"""


def test_youth_page_headers_and_markup(contexts: Contexts, server: Server) -> None:
    """R-13: the youth page's headers, its CSP-hashed import map, and SRI on every script."""
    page = contexts.page()
    for path in YOUTH_PAGES:
        _check_youth_page(page, server, path)


def _check_youth_page(page: Any, server: Server, path: str) -> None:
    response = page.goto(server.base_url + path)
    assert response is not None
    assert response.status == 200
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert "server" not in headers
    assert "set-cookie" not in headers
    # S-1: exactly one server-rendered exit link, plus the skip link, both to DEST.
    assert page.locator("[data-quick-exit]").count() == 1
    assert page.locator("[data-quick-exit]").get_attribute("href") == EXIT_PATH
    assert page.locator("[data-quick-exit-skip]").get_attribute("href") == EXIT_PATH
    # the only inline script is the import map, admitted by its hash in the CSP; no
    # inline style; every script and stylesheet carries SRI, and the import map gives every
    # module that is loaded by `import` its integrity too.
    inline = page.locator('script:not([src]):not([type="application/json"])')
    assert inline.count() == 1
    # The page's strings for its scripts are data (S-19), never executed.
    assert page.locator('script[type="application/json"]').count() == 1
    assert inline.get_attribute("type") == "importmap"
    importmap_text = inline.text_content() or ""
    digest = base64.b64encode(hashlib.sha256(importmap_text.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    module_integrity = json.loads(importmap_text)["integrity"]
    assert "/static/js/crypto/message.js" in module_integrity
    assert all(v.startswith("sha384-") for v in module_integrity.values())
    assert page.locator("style, [style]").count() == 0
    for tag in page.locator("script[src], link[rel=stylesheet]").all():
        assert (tag.get_attribute("integrity") or "").startswith("sha384-")


def test_quick_exit_is_always_visible(contexts: Contexts, server: Server) -> None:
    page = contexts.page()
    page.set_viewport_size({"width": 320, "height": 568})
    page.goto(server.base_url + "/en/chat")
    page.mouse.wheel(0, 10_000)
    page.keyboard.press("End")
    exit_link = page.locator("[data-quick-exit]")
    expect(exit_link).to_be_in_viewport()
    box = exit_link.bounding_box()
    assert box is not None
    assert box["width"] >= 44
    assert box["height"] >= 44
    # S-2: on a band of its own that sticks to the top (tests/e2e/test_quick_exit_layout.py
    # checks that it covers nothing).
    band = exit_link.evaluate("el => getComputedStyle(el.closest('header')).position")
    assert band == "sticky"
    # The skip link is the first focusable element.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.hasAttribute('data-quick-exit-skip')")


def test_triage_form(contexts: Contexts, server: Server) -> None:
    page = contexts.page()
    page.goto(server.base_url + "/en/chat?for=professional")
    expect(page.get_by_label("I am a professional")).to_be_checked()
    emergency = page.get_by_text("Call 112 now.")
    expect(emergency).to_be_hidden()
    page.get_by_label("Yes", exact=True).check()
    expect(emergency).to_be_visible()
    page.get_by_label("No", exact=True).check()
    expect(emergency).to_be_hidden()
    page.goto(server.base_url + "/en/chat")
    expect(page.get_by_label("I am a young person")).to_be_checked()
    box = page.locator("textarea#message")
    assert box.get_attribute("autocomplete") == "off"
    assert box.get_attribute("spellcheck") == "false"
    assert box.get_attribute("autocapitalize") == "off"


async def _counsellor_until_closed(server: Server, account: StaffAccount) -> dict[str, Any]:
    """A Python counsellor: on duty, takes the chat, returns the ``closed`` frame it gets."""
    credentials = await asyncio.to_thread(
        login, server.base_url, account.username, account.password, account.code()
    )
    staff = CounsellorClient(
        server.base_url, enrol_code=await _enrol_code(server.database, account.staff_id)
    )
    await staff.connect(credentials)
    try:
        await staff.duty(True)
        await staff.wait_assigned(timeout=20)
        return await staff.expect("closed", timeout=30)
    finally:
        await staff.close()


async def _resume_when_ended(base_url: str, ticket: str) -> dict[str, Any]:
    """The answer to a resume once the quick exit's beacon has ended the ticket (it is sent with
    ``keepalive`` as the page leaves, so it may land a moment after the exit page shows)."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        answer = await _resume(base_url, ticket)
        if answer.get("type") == "ended" or asyncio.get_running_loop().time() > deadline:
            return answer
        await asyncio.sleep(0.2)


async def _resume(base_url: str, ticket: str) -> dict[str, Any]:
    youth = YouthClient(base_url, ticket=ticket)
    await youth.connect()
    try:
        await youth.send({"type": "resume", "ticket": ticket})
        return await youth.recv()
    finally:
        await youth.close()


def _capture_ticket(page: Any) -> list[str]:
    tickets: list[str] = []

    def on_socket(ws: Any) -> None:
        def on_frame(payload: str | bytes) -> None:
            if isinstance(payload, str) and '"type":"ticket"' in payload:
                tickets.append(json.loads(payload)["ticket"])

        ws.on("framereceived", on_frame)

    page.on("websocket", on_socket)
    return tickets


def test_quick_exit_blanks_leaves_and_ends_the_chat(
    contexts: Contexts, server: Server, counsellor: StaffAccount, in_thread: Any
) -> None:
    closed = in_thread(_counsellor_until_closed, server, counsellor)
    page = contexts.page()
    tickets = _capture_ticket(page)
    start_youth_chat(page, server)
    wait_paired(page)
    send(page, SECRET)
    expect(page.locator(".message-body")).to_have_text([SECRET])
    expect(page.locator(".message-pending")).to_have_count(0)

    # S-9: nothing on the device.
    assert page.context.cookies() == []
    traces = page.evaluate(TRACES_SCRIPT)
    assert traces == {
        "local": 0,
        "session": 0,
        "idb": 0,
        "workers": 0,
        "caches": 0,
        "cookie": "",
    }
    assert page.url == server.base_url + "/en/chat"  # S-11: nothing added to the URL

    history = page.evaluate("history.length")
    # S-3: record what the page shows right after the exit's click handler, in the same click
    # dispatch (a listener on document runs after the link's own), reported through a binding.
    reports: list[dict[str, Any]] = []
    page.expose_function("reportExitState", lambda state: reports.append(state))
    page.evaluate(
        """(secret) => document.addEventListener("click", () => {
          window.reportExitState({
            messages: document.querySelectorAll("[data-message]").length,
            text: document.documentElement.textContent.includes(secret),
            title: document.title,
            overlay: document.querySelector(".exit-overlay") !== null,
          });
        })""",
        SECRET,
    )
    page.locator("[data-quick-exit]").click()
    page.wait_for_url(server.base_url + EXIT_PATH)
    assert reports == [{"messages": 0, "text": False, "title": "Information", "overlay": True}]
    assert page.evaluate("history.length") == history  # S-4: replaced, not pushed
    assert SECRET not in page.content()

    # S-6: the counsellor is told the young person left, and the ticket is refused afterwards.
    frame = closed.result(timeout=20)
    assert frame["by"] == "youth"
    assert frame["reason"] == "left"
    assert len(tickets) == 1
    assert in_thread(_resume, server.base_url, tickets[0]).result(timeout=20) == {"type": "ended"}
    assert page.context.cookies() == []


def test_shift_three_times_exits_while_waiting(
    contexts: Contexts, server: Server, in_thread: Any
) -> None:
    page = contexts.page()
    tickets = _capture_ticket(page)
    start_youth_chat(page, server)
    history = page.evaluate("history.length")
    status = page.locator("[data-quick-exit-status]")
    page.keyboard.press("Shift")
    expect(status).to_have_text("Shift pressed 1 of 3 times. Press it 2 more times to leave.")
    page.keyboard.press("a")  # any other key starts the count again
    expect(status).to_have_text("")
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    expect(status).to_have_text("Shift pressed 2 of 3 times. Press it once more to leave.")
    page.keyboard.press("Shift")
    page.wait_for_url(server.base_url + EXIT_PATH)
    assert page.evaluate("history.length") == history
    # Left while waiting: the ticket was closed by the beacon.
    assert len(tickets) == 1
    answer = in_thread(_resume_when_ended, server.base_url, tickets[0]).result(timeout=20)
    assert answer == {"type": "ended"}


def test_house_page_exit_without_a_chat(contexts: Contexts, server: Server) -> None:
    page = contexts.page()
    page.goto(server.base_url + "/en/")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.locator("[data-quick-exit]").click()
    page.wait_for_url(server.base_url + EXIT_PATH)
    assert not any("/api/youth/leave" in url for url in requests)  # no ticket, no beacon
