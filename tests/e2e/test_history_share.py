"""A returning young person lets the new counsellor read an earlier chat, only by consent
(CRYPTO.md §5, PROTOCOL.md §6.5): the real youth page and the real console in separate browser
contexts against a real server, with real device keys.

The earlier chat is opened with its return code on a fresh page; a new chat starts from that
page; the console shows nothing of the earlier chat until the young person says yes, and then
shows it above the new chat's messages, read only and as text. Nothing is stored on the
young person's device along the way."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from app.kit import b64
from tests.conftest import Server, StaffAccount
from tests.e2e.conftest import Contexts, staff_account
from tests.e2e.pages import YouthSocket, end_chat, open_console, send, start_youth_chat, wait_paired

pytestmark = pytest.mark.browser

TITLE = "Earlier conversation (shared by the young person)"
CODE = re.compile(r"^([0-9A-HJKMNP-TV-Z]{4} ){4}[0-9A-HJKMNP-TV-Z]{4}$")
EARLIER = [
    "Förra gången berättade jag om min bror.",
    "Tack för att du berättar. <b>Spara koden</b>.",
    '<img src=x onerror="alert(1)"> det här är bara text',
]


def _sent_frames(page: Any) -> list[dict[str, Any]]:
    """Every JSON frame the page sends on /ws/youth (attach before the socket opens)."""
    sent: list[dict[str, Any]] = []

    def watch(ws: Any) -> None:
        if ws.url.endswith("/ws/youth"):
            ws.on("framesent", lambda payload: sent.append(json.loads(payload)))

    page.on("websocket", watch)
    return sent


def _traces(page: Any) -> list[Any]:
    """What a youth page left on the device: Web Storage, IndexedDB and cookies (SAFETY S-9)."""
    found: list[Any] = page.evaluate(
        """async () => [localStorage.length, sessionStorage.length,
                        (await indexedDB.databases()).length, document.cookie]"""
    )
    return [*found, page.context.cookies()]


def _earlier_chat_with_code(youth: Any, staff: Any, server: Server) -> str:
    """Chat 1: messages both ways (one looks like HTML), a return code, then the end."""
    start_youth_chat(youth, server)
    wait_paired(youth)
    panel = staff.locator("[data-chat]").first
    send(youth, EARLIER[0])
    expect(panel.locator(".message-body")).to_have_text(EARLIER[:1])
    send(staff, EARLIER[1], panel)
    # Stored order is the transcript's order: the reply is in before the next message is sent.
    expect(youth.locator("[role=log] .message-body")).to_have_text(EARLIER[:2])
    send(youth, EARLIER[2])
    expect(panel.locator(".message-body")).to_have_text(EARLIER)
    expect(youth.locator("[role=log] .message-body")).to_have_text(EARLIER)
    youth.get_by_role("button", name="Get a return code").click()
    shown = youth.locator("[data-return-code-value]")
    expect(shown).to_have_text(CODE)
    code = shown.text_content() or ""
    expect(youth.get_by_text("Your return code works for this conversation.")).to_be_visible()
    youth.get_by_role("button", name="I have written it down").click()
    expect(youth.locator(".message-pending")).to_have_count(0)
    end_chat(youth)
    expect(panel.get_by_text("The young person ended the chat.")).to_be_visible()
    return code


def _open_history_and_start_chat(youth: Any, server: Server, code: str) -> None:
    """The return visit: read the earlier chat with the code, then start a new chat from the
    same page (a reload would forget the earlier keys)."""
    youth.goto(server.base_url + "/en/chat")
    youth.get_by_text("I have a return code").click()
    youth.get_by_role("textbox", name="Return code").fill(code)
    youth.get_by_role("button", name="Show my earlier chat").click()
    history = youth.locator("[data-return-history]")
    expect(history.locator(".message-body")).to_have_text(EARLIER, timeout=20_000)
    expect(history.get_by_text("you need your code again")).to_be_visible()
    youth.get_by_label("Language").select_option("sv")
    youth.get_by_label("I am a young person").check()
    youth.get_by_label("No", exact=True).check()
    youth.get_by_role("button", name="Start chat").click()


def test_the_console_reads_an_earlier_chat_only_after_the_young_person_agrees(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    staff = contexts.page()
    open_console(staff, server, counsellor)
    first = contexts.page()
    code = _earlier_chat_with_code(first, staff, server)

    later = contexts.page()
    sent = _sent_frames(later)
    _open_history_and_start_chat(later, server, code)
    wait_paired(later)
    panel = staff.locator("[data-chat]").last
    expect(panel.get_by_role("textbox", name="Message")).to_be_enabled()

    # Asked plainly, and nothing is shared before an answer.
    consent = later.get_by_role("region", name="Your earlier conversation")
    expect(consent).to_be_visible()
    expect(consent).to_contain_text("Let the counsellor, Sara, read your earlier conversation?")
    yes = consent.get_by_role("button", name="Yes, let Sara read it")
    expect(yes).to_be_visible()
    assert "share_history" not in [f.get("type") for f in sent]

    # No: the counsellor sees nothing of it (a message both ways proves the chat is live).
    consent.get_by_role("button", name="No, do not share it").click()
    expect(consent.get_by_role("status")).to_contain_text("Not shared")
    send(later, "Hej igen.")
    expect(panel.locator(".message-body")).to_have_text(["Hej igen."])
    send(staff, "Hej! Vad vill du prata om?", panel)
    expect(later.locator("[data-conversation] [role=log] .message-body")).to_have_text(
        ["Hej igen.", "Hej! Vad vill du prata om?"]
    )
    expect(staff.get_by_text(TITLE)).to_have_count(0)
    expect(staff.locator("[data-shared-history]")).to_have_count(0)
    assert "share_history" not in [f.get("type") for f in sent]

    # Changing their mind: yes.
    yes.click()
    expect(consent.get_by_role("status")).to_contain_text("Shared.")
    expect(consent).to_contain_text("Sara can now read your earlier conversation.")
    expect(yes).to_be_hidden()
    shared = panel.get_by_role("region", name=TITLE)
    expect(shared).to_be_visible()
    expect(shared.locator(".history-body")).to_have_text(EARLIER)
    expect(shared.locator(".message-who")).to_have_text(
        ["Young person: ", "Counsellor: ", "Young person: "]
    )
    # Text only: the HTML-looking messages made no elements (and no dialog: see `contexts`).
    assert shared.locator("b, img").count() == 0
    # Read only, above the chat's own messages, which are unchanged.
    assert shared.locator("textarea, input, button, [contenteditable]").count() == 0
    expect(panel.locator("[data-transcript] .message-body")).to_have_text(
        ["Hej igen.", "Hej! Vad vill du prata om?"]
    )
    assert panel.evaluate(
        """(el) => el.querySelector("[data-shared-history]").compareDocumentPosition(
            el.querySelector("[data-transcript]")) & Node.DOCUMENT_POSITION_FOLLOWING"""
    )
    expect(staff.locator("[data-shared-history]")).to_have_count(1)

    # On the wire: one frame, the earlier segment's K sealed for this device only.
    (frame,) = [f for f in sent if f.get("type") == "share_history"]
    paired = panel.get_attribute("data-conv")
    assert frame["conv"] == paired
    assert len(b64.decode(frame["locator"])) == 16
    (segment,) = frame["segments"]
    assert segment["conv"] != paired
    assert segment["seg"] == 0
    assert len(b64.decode(segment["wrap"])) == 113
    assert code.replace(" ", "") not in json.dumps(frame).upper()

    # A console that connects again gets it again, once.
    staff.reload()
    expect(staff.get_by_role("status").filter(has_text="Connected")).to_be_visible()
    again = staff.get_by_role("region", name=TITLE)
    expect(again.locator(".history-body")).to_have_text(EARLIER)
    expect(staff.locator("[data-shared-history]")).to_have_count(1)

    # Nothing of any of it was stored on the young person's device.
    assert _traces(later) == [0, 0, 0, "", []]
    assert _traces(first) == [0, 0, 0, "", []]


def _colleague(server: Server) -> StaffAccount:
    """A second counsellor."""
    return staff_account(server, "counsellor2", "Ali")


def test_a_new_counsellor_after_a_transfer_is_asked_about_again(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    """Consent is given to one counsellor: after a cold transfer nothing reaches the new one's
    device until the young person says yes again, naming them."""
    staff_a = contexts.page()
    open_console(staff_a, server, counsellor)
    first = contexts.page()
    code = _earlier_chat_with_code(first, staff_a, server)
    later = contexts.page()
    sent = _sent_frames(later)
    _open_history_and_start_chat(later, server, code)
    wait_paired(later, "Sara")
    consent = later.get_by_role("region", name="Your earlier conversation")
    consent.get_by_role("button", name="Yes, let Sara read it").click()
    expect(consent.get_by_role("status")).to_contain_text("Shared.")
    panel_a = staff_a.locator("[data-chat]").last
    expect(panel_a.get_by_role("region", name=TITLE).locator(".history-body")).to_have_text(EARLIER)

    # Ali comes on duty only now, so the new chat could not have gone to him.
    staff_b = contexts.page()
    ali = _colleague(server)
    open_console(staff_b, server, ali)
    panel_a.get_by_role("button", name="Transfer…").click()
    panel_a.get_by_label("Transfer to").select_option(f"staff:{ali.staff_id}")
    panel_a.get_by_label("Cold: hand it over now").check()
    panel_a.get_by_role("button", name="Transfer", exact=True).click()
    wait_paired(later, "Ali")

    # Ali is asked about both: the conversation opened with the code, and this chat's part
    # with Sara (CRYPTO.md §5: resealed only if the young person agrees).
    expect(consent).to_contain_text(
        "Let the counsellor, Ali, read your earlier conversation and the earlier part of this chat?"
    )
    expect(consent).to_contain_text("You let Sara read it; Ali cannot, unless you say yes.")
    yes = consent.get_by_role("button", name="Yes, let Ali read it")
    expect(yes).to_be_visible()
    panel_b = staff_b.locator("[data-chat]")
    send(later, "Hej Ali.")
    expect(panel_b.locator(".message-body")).to_have_text(["Hej Ali."])
    expect(staff_b.locator("[data-shared-history]")).to_have_count(0)
    assert [f.get("type") for f in sent].count("share_history") == 1

    yes.click()
    expect(consent.get_by_role("status")).to_contain_text("Shared. Ali can now read")
    shared = panel_b.get_by_role("region", name=TITLE)
    expect(shared.locator(".history-body")).to_have_text(EARLIER)
    expect(panel_b.locator("[data-transcript] .message-body")).to_have_text(["Hej Ali."])
    to_sara, to_ali = [f for f in sent if f.get("type") == "share_history"]
    assert to_sara["conv"] == to_ali["conv"]
    assert to_sara["segments"][0]["wrap"] != to_ali["segments"][0]["wrap"]
    assert _traces(later) == [0, 0, 0, "", []]


def test_a_share_unanswered_when_the_connection_drops_is_sent_again(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    """The page keeps an unanswered share_history in memory and sends it again after a resume
    (the server files it again and the console still shows the earlier chat once)."""
    staff = contexts.page()
    open_console(staff, server, counsellor)
    first = contexts.page()
    code = _earlier_chat_with_code(first, staff, server)
    later = contexts.page()
    socket = YouthSocket(later)
    _open_history_and_start_chat(later, server, code)
    wait_paired(later)
    panel = staff.locator("[data-chat]").last

    socket.hold_types.add("history_shared")
    consent = later.get_by_role("region", name="Your earlier conversation")
    consent.get_by_role("button", name="Yes, let Sara read it").click()
    _wait_until(later, lambda: len(socket.held) == 1)
    expect(consent.get_by_role("status")).to_have_text("Sharing…")
    expect(panel.get_by_role("region", name=TITLE).locator(".history-body")).to_have_text(EARLIER)

    socket.hold_types.clear()
    socket.route.close(code=1012, reason="restarting")
    expect(consent.get_by_role("status")).to_contain_text("Shared.")
    assert socket.sent_types().count("share_history") == 2
    first_share, again = [f for f in socket.sent if f.get("type") == "share_history"]
    assert first_share == again
    expect(panel.get_by_role("region", name=TITLE).locator(".history-body")).to_have_text(EARLIER)
    expect(staff.locator("[data-shared-history]")).to_have_count(1)


def _wait_until(page: Any, condition: Callable[[], bool], timeout_ms: int = 10_000) -> None:
    """Let Playwright dispatch events (route callbacks) until ``condition()`` holds."""
    waited = 0
    while not condition():
        if waited >= timeout_ms:
            raise AssertionError("condition not met in time")
        page.wait_for_timeout(50)
        waited += 50
