""" "Delete this conversation now" in the real pages (SAFETY S-17, S-18): the youth page and the
staff console in Chromium against a real server, with real device keys.

The young person deletes during the chat (the `delete` frame), after it ended (the ticket over
HTTP), and from the return view (the code's locator); a Cancel deletes nothing. Afterwards the
page shows nothing of the conversation, the console keeps only a notice, and the return code
finds nothing. The server runs with its own retention, so the numbers the page says are seen to
come from the settings. Screenshots of each state go to ``artifacts/screenshots`` (not committed).
"""

from __future__ import annotations

import json
import re
import urllib.error
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from app.client import login
from app.client.api import post_json
from app.crypto import returncode
from app.kit import b64
from tests.conftest import Database, Server, StaffAccount, start_server
from tests.e2e.conftest import EXIT_PATH, Contexts, staff_account
from tests.e2e.pages import end_chat, open_console, send, start_youth_chat, wait_paired

pytestmark = pytest.mark.browser

RETENTION_DAYS = 12
PROFESSIONAL_DAYS = 90
CODE = re.compile(r"^([0-9A-HJKMNP-TV-Z]{4} ){4}[0-9A-HJKMNP-TV-Z]{4}$")
SECRET = "Min pappa läser mina meddelanden."
REPLY = "Tack för att du berättar."
DELETED = "The conversation is deleted. Nobody can read it on our service any more."
NOTICE_YOUTH = "The young person deleted this conversation."
NOTICE_SUPERVISOR = "A supervisor deleted this conversation."

TRACES_SCRIPT = """
async () => [localStorage.length, sessionStorage.length, (await indexedDB.databases()).length,
             (await caches.keys()).length, document.cookie]
"""


@pytest.fixture
def server(empty_database: Database, tmp_path: Path) -> Iterator[Server]:
    """As tests/e2e/conftest.py's, with a retention of its own (youth 12 days, professional 90)."""
    srv = start_server(
        empty_database,
        tmp_path,
        VH_QUICK_EXIT_URL=EXIT_PATH,
        VH_RETENTION_DAYS=str(RETENTION_DAYS),
        VH_RETENTION_BY_QUEUE=json.dumps({"professional": PROFESSIONAL_DAYS}),
    )
    try:
        yield srv
    finally:
        srv.stop()


def _sent_frames(page: Any) -> list[dict[str, Any]]:
    """Every JSON frame the page sends on /ws/youth (attach before the socket opens)."""
    sent: list[dict[str, Any]] = []

    def watch(ws: Any) -> None:
        if ws.url.endswith("/ws/youth"):
            ws.on("framesent", lambda payload: sent.append(json.loads(payload)))

    page.on("websocket", watch)
    return sent


def _delete_posts(page: Any) -> list[dict[str, Any]]:
    """The bodies of every POST /api/youth/delete the page makes."""
    bodies: list[dict[str, Any]] = []

    def watch(request: Any) -> None:
        if request.url.endswith("/api/youth/delete"):
            bodies.append(json.loads(request.post_data or "{}"))

    page.on("request", watch)
    return bodies


def _lookup(server: Server, code: str) -> int:
    """The status of POST /api/youth/return for ``code`` (as the page would ask)."""
    found = b64.encode(returncode.locator(code))
    try:
        post_json(server.base_url, "/api/youth/return", {"locator": found})
    except urllib.error.HTTPError as refused:
        return refused.code
    return 200


def _delete_by_ticket(server: Server, ticket: str) -> int:
    try:
        post_json(server.base_url, "/api/youth/delete", {"ticket": ticket})
    except urllib.error.HTTPError as refused:
        return refused.code
    return 200


def _no_traces(page: Any) -> None:
    """Nothing of the chat on the device (SAFETY S-9)."""
    assert page.evaluate(TRACES_SCRIPT) == [0, 0, 0, 0, ""]
    assert page.context.cookies() == []


def _chat(youth: Any, staff: Any, server: Server, *, code: bool) -> tuple[Any, str | None]:
    """A chat with a message each way (and, with ``code``, a return code): the console's panel
    and the code."""
    start_youth_chat(youth, server)
    wait_paired(youth)
    panel = staff.locator("[data-chat]").last
    send(youth, SECRET)
    expect(panel.locator(".message-body")).to_have_text([SECRET])
    send(staff, REPLY, panel)
    expect(youth.locator("[data-conversation] [role=log] .message-body")).to_have_text(
        [SECRET, REPLY]
    )
    shown_code = None
    if code:
        youth.get_by_role("button", name="Get a return code").click()
        value = youth.locator("[data-return-code-value]")
        expect(value).to_have_text(CODE)
        shown_code = value.text_content()
        expect(youth.get_by_text("Your return code works for this conversation.")).to_be_visible()
    expect(youth.locator(".message-pending")).to_have_count(0)
    return panel, shown_code


def _confirm_delete(scope: Any) -> None:
    """Press the delete button, check the question in the page, and say Delete."""
    scope.get_by_role("button", name="Delete this conversation now").click()
    question = scope.get_by_role("group", name="Are you sure?")
    expect(question).to_be_visible()
    expect(question).to_contain_text("for you and for the counsellor, now and for good")
    question.get_by_role("button", name="Delete", exact=True).click()


def _expect_youth_deleted(youth: Any) -> None:
    screen = youth.get_by_role("region", name="The conversation is deleted")
    expect(screen).to_be_visible()
    # "The conversation is deleted" and what that means (the heading, then the status).
    expect(screen.get_by_role("heading")).to_have_text("The conversation is deleted")
    expect(screen.get_by_role("status")).to_have_text(
        re.compile(r"^It is gone from this page and from our service")
    )
    expect(screen).to_be_focused()
    expect(youth.locator("[data-conversation]")).to_be_hidden()
    expect(youth.locator("[data-conversation] [data-message]")).to_have_count(0)
    assert SECRET not in youth.content()
    assert REPLY not in youth.content()
    expect(screen.get_by_role("button", name="Start a new chat")).to_be_visible()


def _expect_console_deleted(staff: Any, panel: Any, notice: str) -> None:
    expect(panel.locator(".notice-deleted")).to_have_text(re.compile(re.escape(notice)))
    expect(panel.locator("[data-message]")).to_have_count(1)  # the notice alone
    expect(panel.locator(".message-body")).to_have_count(0)
    expect(panel.get_by_role("textbox", name="Message")).to_be_disabled()
    expect(panel.get_by_role("button", name="Remove from list")).to_be_enabled()
    assert SECRET not in staff.content()
    assert REPLY not in staff.content()


def test_the_young_person_deletes_during_the_chat(
    contexts: Contexts, server: Server, counsellor: StaffAccount, shot: Callable[[Any, str], None]
) -> None:
    staff = contexts.page()
    open_console(staff, server, counsellor)
    youth = contexts.page()
    sent = _sent_frames(youth)
    received: list[dict[str, Any]] = []
    youth.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda payload: received.append(json.loads(payload))),
    )
    youth.goto(server.base_url + "/en/chat")
    # S-17: how long it is kept, in the server's own numbers, before the first chat.
    intro = youth.locator(".before-you-start")
    intro.get_by_text("Before you start").click()
    expect(intro).to_contain_text(f"How long a conversation is kept: {RETENTION_DAYS} days")
    expect(intro).to_contain_text(
        f"For a consultation with a professional: {PROFESSIONAL_DAYS} days."
    )
    expect(intro).to_contain_text("nobody can read it again, not even us")
    expect(intro).to_contain_text(
        f"The code works until the conversation is deleted: {RETENTION_DAYS} days after it ends"
    )
    shot(youth, "a1-youth-before-the-chat")

    panel, code = _chat(youth, staff, server, code=True)
    assert code is not None
    note = youth.locator("[data-retention-note]")
    expect(note).to_contain_text(
        f"We keep this conversation for {RETENTION_DAYS} days after it ends. Then it is "
        "deleted for good and nobody can read it again, not even us. You can delete it "
        "yourself at any time."
    )
    expect(note).to_contain_text(
        f"the code works until the conversation is deleted: {RETENTION_DAYS} days after it ends"
    )
    shot(youth, "a2-youth-chat-with-code")
    youth.get_by_role("button", name="I have written it down").click()
    assert _lookup(server, code) == 200

    youth.get_by_role("button", name="Delete this conversation now").click()
    expect(youth.get_by_role("group", name="Are you sure?")).to_be_visible()
    shot(youth, "a3-youth-are-you-sure")
    youth.get_by_role("group", name="Are you sure?").get_by_role(
        "button", name="Delete", exact=True
    ).click()
    _expect_youth_deleted(youth)
    shot(youth, "a4-youth-deleted")

    conv = panel.get_attribute("data-conv")
    assert {"type": "delete", "conv": conv} in sent
    closed = {"type": "closed", "conv": conv, "by": "youth", "reason": "deleted"}
    assert received.index({"type": "deleted", "conv": conv}) < received.index(closed)

    _expect_console_deleted(staff, panel, NOTICE_YOUTH)
    expect(staff.locator("[data-console-status]")).to_have_text(
        re.compile(r"^Chat [A-Z][2-9][A-Z]? was deleted by the young person\.$")
    )
    shot(staff, "a5-console-deleted")

    # S-18: the code finds nothing any more; nothing was left on the device.
    assert _lookup(server, code) == 404
    _no_traces(youth)

    # A way on: the questions again, and a new chat works.
    youth.get_by_role("button", name="Start a new chat").click()
    expect(youth.get_by_role("button", name="Start chat")).to_be_visible()
    expect(youth.get_by_label("No", exact=True)).not_to_be_checked()  # asked afresh
    youth.get_by_label("No", exact=True).check()
    youth.get_by_role("button", name="Start chat").click()
    wait_paired(youth)
    expect(youth.locator("[data-conversation] .message-body")).to_have_count(0)
    expect(youth.locator("[data-conversation] [data-delete-status]")).to_have_text("")


def test_the_young_person_deletes_after_the_chat_ended(
    contexts: Contexts, server: Server, counsellor: StaffAccount, shot: Callable[[Any, str], None]
) -> None:
    """The counsellor closed the chat; the page still holds the ticket and deletes with it. The
    console, which still lists the closed chat, keeps only the notice."""
    staff = contexts.page()
    open_console(staff, server, counsellor)
    youth = contexts.page()
    tickets: list[str] = []
    youth.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived",
            lambda payload: tickets.extend(
                [json.loads(payload)["ticket"]] if '"type":"ticket"' in payload else []
            ),
        ),
    )
    posts = _delete_posts(youth)
    panel, _ = _chat(youth, staff, server, code=False)
    panel.get_by_role("button", name="Close chat").click()
    panel.get_by_role("button", name="Close the chat").click()
    expect(youth.get_by_text("Sara ended the chat.")).to_be_visible()
    expect(panel.get_by_text("You closed the chat.")).to_be_visible()
    shot(youth, "b1-youth-chat-ended")

    # Rate-limited first (the answer is made up here): a clear retry, nothing gone.
    youth.route(
        "**/api/youth/delete",
        lambda route: route.fulfill(
            status=429,
            headers={"Retry-After": "120", "Content-Type": "application/json"},
            body='{"error":{"code":"too_many_requests","message":"x"}}',
        ),
    )
    _confirm_delete(youth)
    status = youth.locator("[data-conversation] [data-delete-status]")
    expect(status).to_have_text(
        "Too many tries. Nothing was deleted. Wait about 2 minutes and try again."
    )
    expect(youth.locator("[data-conversation] .message-body")).to_have_text([SECRET, REPLY])
    expect(panel.locator(".message-body")).to_have_text([SECRET, REPLY])
    shot(youth, "b2-youth-rate-limited")
    youth.unroute("**/api/youth/delete")

    _confirm_delete(youth)
    _expect_youth_deleted(youth)
    shot(youth, "b3-youth-deleted-after-the-end")
    assert len(tickets) == 1
    assert posts == [{"ticket": tickets[0]}, {"ticket": tickets[0]}]

    _expect_console_deleted(staff, panel, NOTICE_YOUTH)
    shot(staff, "b4-console-closed-then-deleted")
    assert _delete_by_ticket(server, tickets[0]) == 404
    _no_traces(youth)


def test_a_professional_is_told_their_queue_and_a_second_delete_finds_nothing(
    contexts: Contexts, server: Server, counsellor: StaffAccount, shot: Callable[[Any, str], None]
) -> None:
    """The return code's note names the professional queue's retention (from the ticket's
    queue); deleted meanwhile with the ticket elsewhere, the page's delete answers 404 and says
    there was nothing left."""
    staff = contexts.page()
    open_console(staff, server, counsellor)
    youth = contexts.page()
    tickets: list[str] = []
    youth.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived",
            lambda payload: tickets.extend(
                [json.loads(payload)["ticket"]] if '"type":"ticket"' in payload else []
            ),
        ),
    )
    youth.goto(server.base_url + "/en/chat?for=professional")
    expect(youth.get_by_label("I am a professional")).to_be_checked()
    youth.get_by_label("No", exact=True).check()
    youth.get_by_role("button", name="Start chat").click()
    wait_paired(youth)
    panel = staff.locator("[data-chat]")
    send(youth, SECRET)
    expect(panel.locator(".message-body")).to_have_text([SECRET])
    youth.get_by_role("button", name="Get a return code").click()
    expect(youth.locator("[data-return-code-value]")).to_have_text(CODE)
    expect(youth.locator("[data-retention-days]")).to_have_text(
        [str(PROFESSIONAL_DAYS), str(PROFESSIONAL_DAYS)]
    )
    youth.get_by_role("button", name="I have written it down").click()
    end_chat(youth)
    expect(panel.get_by_text("The young person ended the chat.")).to_be_visible()

    assert len(tickets) == 1
    assert _delete_by_ticket(server, tickets[0]) == 200
    _expect_console_deleted(staff, panel, NOTICE_YOUTH)
    _confirm_delete(youth)
    screen = youth.get_by_role("region", name="The conversation is deleted")
    expect(screen.get_by_role("status")).to_have_text(
        "There was nothing left to delete: the conversation had already been deleted, or its "
        "time had run out. Nobody can read it any more."
    )
    expect(youth.locator("[data-conversation] [data-message]")).to_have_count(0)
    assert SECRET not in youth.content()
    shot(youth, "f1-youth-already-deleted")


def test_the_young_person_deletes_from_the_return_view(
    contexts: Contexts, server: Server, counsellor: StaffAccount, shot: Callable[[Any, str], None]
) -> None:
    staff = contexts.page()
    open_console(staff, server, counsellor)
    first = contexts.page()
    panel, code = _chat(first, staff, server, code=True)
    assert code is not None
    first.get_by_role("button", name="I have written it down").click()
    end_chat(first)
    expect(panel.get_by_text("The young person ended the chat.")).to_be_visible()

    later = contexts.page()
    posts = _delete_posts(later)
    later.goto(server.base_url + "/en/chat")
    later.get_by_text("I have a return code").click()
    later.get_by_role("textbox", name="Return code").fill(code)
    later.get_by_role("button", name="Show my earlier chat").click()
    history = later.locator("[data-return-history]")
    expect(history.locator(".message-body")).to_have_text([SECRET, REPLY], timeout=20_000)
    section = history.get_by_role("region", name=re.compile("^Conversation of"))
    expect(section).to_have_count(1)
    expect(history.get_by_text("keeps it for the full time again")).to_be_visible()
    shot(later, "c1-return-view")

    _confirm_delete(section)
    status = history.locator("[data-return-status]")
    expect(status).to_have_text(f"{DELETED} The return code does not open anything any more.")
    expect(status).to_be_focused()
    expect(history.locator("[data-message]")).to_have_count(0)
    expect(history.get_by_role("region", name=re.compile("^Conversation of"))).to_have_count(0)
    assert SECRET not in later.content()
    shot(later, "c2-return-view-deleted")
    (body,) = posts
    assert sorted(body) == ["conv", "locator"]
    assert body["conv"] == panel.get_attribute("data-conv")
    assert body["locator"] == b64.encode(returncode.locator(code))

    assert _lookup(server, code) == 404
    later.get_by_role("textbox", name="Return code").fill(code)
    later.get_by_role("button", name="Show my earlier chat").click()
    expect(later.get_by_text("No conversation was found for this code")).to_be_visible()
    # The console still listed the ended chat: now only the notice is left of it.
    _expect_console_deleted(staff, panel, NOTICE_YOUTH)
    shot(staff, "c3-console-deleted-by-code")
    _no_traces(later)


def test_cancel_deletes_nothing(
    contexts: Contexts, server: Server, counsellor: StaffAccount, shot: Callable[[Any, str], None]
) -> None:
    """Cancel, in the chat and in the return view: no frame, no request, the chat goes on and
    the code still opens it."""
    staff = contexts.page()
    open_console(staff, server, counsellor)
    youth = contexts.page()
    sent = _sent_frames(youth)
    posts = _delete_posts(youth)
    panel, code = _chat(youth, staff, server, code=True)
    assert code is not None
    youth.get_by_role("button", name="I have written it down").click()

    ask = youth.get_by_role("button", name="Delete this conversation now")
    ask.click()
    expect(ask).to_have_attribute("aria-expanded", "true")
    question = youth.get_by_role("group", name="Are you sure?")
    cancel = question.get_by_role("button", name="Cancel")
    expect(cancel).to_be_focused()  # the safe answer first
    cancel.click()
    expect(question).to_be_hidden()
    expect(ask).to_be_focused()
    expect(ask).to_have_attribute("aria-expanded", "false")
    expect(youth.locator("[data-conversation] [data-delete-status]")).to_have_text(
        "Nothing was deleted."
    )
    shot(youth, "d1-youth-cancelled")

    # The chat goes on, both ways.
    send(youth, "Jag är kvar.")
    expect(panel.locator(".message-body")).to_have_text([SECRET, REPLY, "Jag är kvar."])
    assert "delete" not in [frame.get("type") for frame in sent]
    assert posts == []
    expect(panel.locator(".notice-deleted")).to_have_count(0)
    end_chat(youth)
    expect(panel.get_by_text("The young person ended the chat.")).to_be_visible()

    # Cancel in the return view too.
    later = contexts.page()
    later_posts = _delete_posts(later)
    later.goto(server.base_url + "/en/chat")
    later.get_by_text("I have a return code").click()
    later.get_by_role("textbox", name="Return code").fill(code)
    later.get_by_role("button", name="Show my earlier chat").click()
    history = later.locator("[data-return-history]")
    expect(history.locator(".message-body")).to_have_text(
        [SECRET, REPLY, "Jag är kvar."], timeout=20_000
    )
    history.get_by_role("button", name="Delete this conversation now").click()
    history.get_by_role("group", name="Are you sure?").get_by_role("button", name="Cancel").click()
    expect(history.locator("[data-delete-status]")).to_have_text("Nothing was deleted.")
    expect(history.locator(".message-body")).to_have_count(3)
    shot(later, "d2-return-view-cancelled")
    assert later_posts == []
    assert _lookup(server, code) == 200
    expect(panel.locator(".message-body")).to_have_count(3)


def test_a_supervisor_deletes_an_open_chat(
    contexts: Contexts, server: Server, counsellor: StaffAccount, shot: Callable[[Any, str], None]
) -> None:
    """The supervisor's deletion (the server says by=counsellor): the console says who, and the
    young person's page says the service deleted it, and forgets it."""
    staff = contexts.page()
    open_console(staff, server, counsellor)
    youth = contexts.page()
    panel, _ = _chat(youth, staff, server, code=False)
    conv = panel.get_attribute("data-conv")
    boss = staff_account(server, "supervisor1", "Maja", role="supervisor")
    credentials = login(server.base_url, boss.username, boss.password, boss.code())
    answer = post_json(
        server.base_url,
        f"/staff/api/conversations/{conv}/delete",
        {"reason": "asked by the young person on the phone"},
        {
            "Cookie": f"{credentials.cookie_name}={credentials.cookie}",
            "X-CSRF-Token": credentials.csrf_token,
        },
    )
    assert answer == {"deleted": 1}
    _expect_console_deleted(staff, panel, NOTICE_SUPERVISOR)
    expect(staff.locator("[data-console-status]")).to_have_text(
        re.compile(r"^Chat [A-Z][2-9][A-Z]? was deleted by a supervisor\.$")
    )
    shot(staff, "e1-console-deleted-by-supervisor")
    screen = youth.get_by_role("region", name="The conversation is deleted")
    expect(screen.get_by_role("status")).to_have_text(
        "The service deleted this conversation. Nobody can read it here or with us any more."
    )
    expect(youth.locator("[data-conversation] [data-message]")).to_have_count(0)
    assert SECRET not in youth.content()
    shot(youth, "e2-youth-deleted-by-supervisor")
