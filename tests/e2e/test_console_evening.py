"""The counsellor console on a busy evening (issue 11 §1), in Chromium against a real server:
the queue at a glance, three chats at once with the composer in view at 1280x800 and 1366x768,
unread counts in the list and the title, stable labels after a reload, a time on every message,
notices distinct by kind, and transfers that keep the handoff note and the triage summary."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from app.kit import b64
from tests.conftest import Server
from tests.e2e.conftest import Contexts, staff_account
from tests.e2e.pages import (
    YouthSocket,
    handed_over,
    open_console,
    send,
    start_youth_chat,
    wait_paired,
)

pytestmark = pytest.mark.browser

Shot = Callable[[Any, str], None]
CLOCK = re.compile(r"^\d\d:\d\d$")


def _in_viewport(page: Any, locator: Any) -> None:
    """The element is wholly inside the viewport, and the page itself does not scroll."""
    box = locator.bounding_box()
    size = page.viewport_size
    assert box is not None
    assert box["y"] >= 0, box
    assert box["x"] >= 0, box
    assert box["y"] + box["height"] <= size["height"], (box, size)
    assert box["x"] + box["width"] <= size["width"], (box, size)
    scroll = page.evaluate("[document.documentElement.scrollHeight, window.innerHeight]")
    assert scroll[0] <= scroll[1], scroll


def _item(staff: Any, label: str) -> Any:
    return staff.locator("[data-chat-item]").filter(has_text=f"Chat {label}")


def test_three_chats_at_once_on_a_laptop_screen(
    contexts: Contexts, server: Server, shot: Shot
) -> None:
    sara = staff_account(server, "sara", "Sara", capacity=3, languages=["sv", "en", "ar"])
    context = contexts.new()
    staff = context.new_page()
    staff.set_viewport_size({"width": 1280, "height": 800})
    open_console(staff, server, sara, on_duty=False)
    glance = staff.get_by_role("region", name="Queue now")
    expect(glance).to_contain_text("Nobody is waiting.")
    shot(staff, "1-off-duty-empty-queue")

    # Off duty, Sara sees the queue grow: per queue and language, and that she can serve it.
    first = contexts.page()
    start_youth_chat(first, server)
    row = glance.locator("tbody tr").filter(has_text="sv")
    expect(row).to_contain_text("Young people")
    expect(row.locator("td").nth(1)).to_have_text("1")
    expect(row.locator(".serve-yes")).to_have_text("Yes")
    expect(glance.locator("[data-queue-summary]")).to_contain_text("1 waiting")
    expect(glance.locator("[data-queue-summary]")).to_contain_text("1 you can serve")
    wait = row.locator("td").nth(3)
    before = wait.text_content()
    expect(wait).not_to_have_text(before or "", timeout=5_000)  # counts on between frames
    shot(staff, "2-queue-one-waiting")

    staff.get_by_role("button", name="Go on duty").click()
    wait_paired(first)
    expect(glance).to_contain_text("Nobody is waiting.")
    items = staff.locator("[data-chat-item]")
    expect(items).to_have_count(1)
    label_1 = re.sub(r"^Chat ", "", items.first.locator(".chat-item-name").inner_text())
    assert re.fullmatch(r"[A-HJ-NP-Z][2-9][A-HJ-NP-Z]?", label_1), label_1

    second, third = contexts.page(), contexts.page()
    start_youth_chat(second, server, language="en")
    wait_paired(second)
    start_youth_chat(third, server, language="ar")
    wait_paired(third)
    expect(items).to_have_count(3)
    # The first chat stays in the pane: new chats wait in the list, counted in the title.
    pane = staff.locator("[data-chat]:visible")
    expect(pane).to_have_count(1)
    expect(pane.locator("[data-chat-title]")).to_contain_text(f"Chat {label_1}")
    expect(staff).to_have_title(re.compile(r"^\(2\) "))

    send(second, "Hej från två")
    send(second, "<img src=x onerror=alert(1)>")
    send(first, "Hej från ett")
    labels = [re.sub(r"^Chat ", "", t) for t in items.locator(".chat-item-name").all_inner_texts()]
    label_2 = next(
        lbl for lbl in labels if _item(staff, lbl).filter(has_text="young person, en").count()
    )
    expect(_item(staff, label_2).locator(".chat-item-unread")).to_contain_text("3")  # new + 2
    expect(staff).to_have_title(re.compile(r"^\(4\) "))
    # The message in the active chat is read at once, with its time.
    message = pane.locator(".message").filter(has_text="Hej från ett")
    expect(message.locator(".message-time")).to_have_text(CLOCK)
    expect(pane.locator("[data-chat-since]")).to_contain_text("Last message from them just now")
    _in_viewport(staff, pane.get_by_role("textbox", name="Message"))
    _in_viewport(staff, pane.get_by_role("button", name="Close chat"))
    shot(staff, "3-three-chats-1280x800")

    _item(staff, label_2).click()
    pane = staff.locator("[data-chat]:visible")
    expect(pane.locator("[data-chat-title]")).to_contain_text(f"Chat {label_2}")
    expect(pane.locator(".message-body")).to_have_text(
        ["Hej från två", "<img src=x onerror=alert(1)>"]
    )
    expect(_item(staff, label_2).locator(".chat-item-unread")).to_be_hidden()
    expect(staff).to_have_title(re.compile(r"^\(1\) "))
    send(staff, "Hej! Sara här.", pane)
    expect(second.locator("[role=log] .message-body").last).to_have_text("Hej! Sara här.")
    expect(pane.locator(".message-own .message-time")).to_have_text([CLOCK])
    pane.get_by_role("button", name="Transfer…").click()
    _in_viewport(staff, pane.get_by_role("textbox", name="Message"))
    shot(staff, "4-second-chat-transfer-open-1280x800")
    pane.get_by_role("button", name="Cancel").click()

    staff.set_viewport_size({"width": 1366, "height": 768})
    _in_viewport(staff, pane.get_by_role("textbox", name="Message"))
    _in_viewport(staff, pane.get_by_role("button", name="Transfer…"))
    shot(staff, "5-three-chats-1366x768")

    # A reload keeps every chat's label (from its conversation id, nothing the young person
    # typed) and does not count what was already there as unread.
    before = sorted(labels)
    staff.reload()
    expect(staff.get_by_role("status").filter(has_text="Connected")).to_be_visible()
    expect(items).to_have_count(3)
    expect(staff.locator("[data-chat]:visible .message-body").first).to_be_visible()
    after = sorted(
        re.sub(r"^Chat ", "", t) for t in items.locator(".chat-item-name").all_inner_texts()
    )
    assert after == before
    expect(staff.locator("[data-chat]:visible [data-chat-since]")).to_contain_text(
        "Last message from them"
    )
    expect(staff).to_have_title(re.compile(r"^Virtual House . staff console$"))
    shot(staff, "6-after-reload-1366x768")

    # Notices by kind: a tab closed (connection lost), a quick exit (left suddenly).
    label_3 = next(lbl for lbl in labels if lbl not in (label_1, label_2))
    third.close()
    _item(staff, label_3).click()
    pane = staff.locator("[data-chat]:visible")
    expect(pane.locator("[data-notice=away]")).to_be_visible(timeout=10_000)
    expect(pane.locator("[data-notice=away]")).to_contain_text("Connection lost:")
    first.locator("[data-quick-exit]").click()
    expect(_item(staff, label_1)).to_contain_text("left suddenly")
    _item(staff, label_1).click()
    pane = staff.locator("[data-chat]:visible")
    left = pane.locator("[data-notice=left]")
    expect(left).to_contain_text("Left suddenly: The young person left suddenly (quick exit).")
    expect(left.locator(".message-time")).to_have_text(CLOCK)
    # Ended chats go below the open ones; urgent ones (none here) would lead.
    expect(items.last).to_contain_text(f"Chat {label_1}")
    shot(staff, "7-notices-left-and-lost")


def _transfer(panel: Any, target: str, mode: str, note: str = "", **queue: str) -> None:
    if not panel.get_by_label("Transfer to").is_visible():
        panel.get_by_role("button", name="Transfer…").click()
    panel.get_by_label("Transfer to").select_option(target)
    if target == "queue":
        panel.get_by_label("Queue").select_option(queue["kind"])
    panel.get_by_label(
        "Warm: they accept first" if mode == "warm" else "Cold: hand it over now"
    ).check()
    if note:
        panel.get_by_label("Note for your colleague").fill(note)
    panel.get_by_role("button", name="Transfer", exact=True).click()


def test_the_handoff_note_stays_and_a_requeued_chat_brings_its_summary(
    contexts: Contexts, server: Server, shot: Shot
) -> None:
    sara = staff_account(server, "sara", "Sara")
    ali = staff_account(server, "ali", "Ali")
    staff_a, staff_b = contexts.page(), contexts.page()
    for page in (staff_a, staff_b):
        page.set_viewport_size({"width": 1280, "height": 800})
    open_console(staff_a, server, sara)
    youth = contexts.page()
    start_youth_chat(youth, server)
    wait_paired(youth, "Sara")
    send(youth, "Hej, det är jag.")
    panel_a = staff_a.locator("[data-chat]")
    expect(panel_a.locator(".message-body")).to_have_text(["Hej, det är jag."])
    label = staff_a.locator("[data-chat-item] .chat-item-name").inner_text()
    open_console(staff_b, server, ali)

    # Warm, with a note: the offer counts down, and the note stays in the pane after accepting.
    note = "Hon vill helst skriva på arabiska. <b>inte HTML</b>"
    _transfer(panel_a, f"staff:{ali.staff_id}", "warm", note)
    offer = staff_b.locator("[data-offer]")
    expires = offer.locator("[data-offer-expires]")
    expect(expires).to_contain_text(re.compile(r"Answer within [12]:\d\d, or it goes back to Sara"))
    first = expires.text_content()
    expect(expires).not_to_have_text(first or "", timeout=3_000)
    shot(staff_b, "1-offer-counting-down")
    offer.get_by_role("button", name="Accept").click()
    handed_over(staff_a)
    expect(staff_a.locator("[data-notice=transferred]")).to_contain_text("handed over to Ali")
    shot(staff_a, "2-sender-transferred-notice")
    wait_paired(youth, "Ali")
    panel_b = staff_b.locator("[data-chat]")
    box = panel_b.get_by_role("region", name="Handoff note from Sara")
    expect(box).to_contain_text(note)
    assert box.locator("b").count() == 0
    # The same label on both consoles: it comes from the conversation id.
    expect(staff_b.locator("[data-chat-item] .chat-item-name")).to_have_text(label)
    expect(panel_b.locator("[data-chat-summary]")).to_contain_text("Young person · language sv")
    send(youth, "Hej Ali")
    expect(panel_b.locator(".message-body")).to_have_text(["Hej Ali"])
    expect(box).to_be_visible()  # still there as the chat goes on
    shot(staff_b, "3-handoff-note-after-accept")

    # Cold back to the queue: whoever takes it next gets the triage summary with it.
    staff_b.get_by_role("button", name="Go off duty").click()
    expect(staff_b.locator("[data-open-chats]")).to_be_visible()
    _transfer(panel_b, "queue", "cold", kind="youth")
    handed_over(staff_b)
    expect(staff_b.locator("[data-notice=transferred]")).to_contain_text("went back to the queue")
    panel_a = staff_a.locator("[data-chat]")
    expect(panel_a.locator("[data-chat-summary]")).to_contain_text(
        "Young person · language sv · topic: not given"
    )
    expect(panel_a.locator("[data-chat-summary]")).to_contain_text("in danger now: no")
    expect(panel_a.get_by_text("Chat passed to you.")).to_be_visible()
    expect(panel_a.locator("[data-handoff]")).to_be_hidden()  # no note came with it
    wait_paired(youth, "Sara")
    send(youth, "Tillbaka")
    expect(panel_a.locator(".message-body")).to_have_text(["Tillbaka"])
    shot(staff_a, "4-requeued-chat-with-summary")


#: A stand-in for the Notification API that records what would be shown (permission granted).
NOTIFICATIONS = """
window.__shown = [];
class FakeNotification {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.__shown.push({ title, ...options }); }
  addEventListener() {}
  close() {}
}
window.Notification = FakeNotification;
Document.prototype.hasFocus = () => false;
"""


def test_opt_ins_are_kept_and_say_no_content(
    contexts: Contexts, server: Server, shot: Shot
) -> None:
    sara = staff_account(server, "sara", "Sara")
    context = contexts.new()
    context.add_init_script(NOTIFICATIONS)
    staff = context.new_page()
    open_console(staff, server, sara)
    sound = staff.get_by_role("button", name="Sound off")
    notify = staff.get_by_role("button", name="Desktop notifications off")
    expect(sound).to_have_attribute("aria-pressed", "false")
    sound.click()
    notify.click()
    expect(staff.get_by_role("button", name="Sound on")).to_have_attribute("aria-pressed", "true")
    expect(staff.get_by_role("button", name="Desktop notifications on")).to_be_visible()
    staff.reload()
    expect(staff.get_by_role("button", name="Sound on")).to_be_visible()
    expect(staff.get_by_role("button", name="Desktop notifications on")).to_be_visible()
    shot(staff, "1-opt-ins-on")

    youth = contexts.page()
    start_youth_chat(youth, server)
    wait_paired(youth)
    secret = "Mitt namn är Amira"
    send(youth, secret)
    expect(staff.locator("[data-chat] .message-body")).to_have_text([secret])
    shown = staff.evaluate("window.__shown")
    assert shown, "no notification"
    assert {n["body"] for n in shown} <= {"New chat", "New message"}
    assert {n["title"] for n in shown} == {"Virtual House"}
    assert secret not in str(shown)
    # The youth page never asks for it (SAFETY S-13).
    assert youth.evaluate("Notification.permission") != "granted"

    staff.get_by_role("button", name="Desktop notifications on").click()
    expect(staff.get_by_role("button", name="Desktop notifications off")).to_be_visible()


def test_a_message_that_did_not_arrive_readable_has_its_own_notice(
    contexts: Contexts, server: Server, shot: Shot
) -> None:
    damaged: list[Any] = []

    def damage_first_reply(frame: dict[str, Any]) -> dict[str, Any] | None:
        if frame.get("type") != "envelope" or frame["envelope"]["role"] != "C" or damaged:
            return None
        envelope = frame["envelope"]
        ct = bytearray(b64.decode(envelope["ct"]))
        ct[0] ^= 1
        damaged.append(envelope)
        return {**frame, "envelope": {**envelope, "ct": b64.encode(bytes(ct))}}

    sara = staff_account(server, "sara", "Sara")
    youth = contexts.page()
    YouthSocket(youth, damage_first_reply)
    staff = contexts.page()
    routes: list[Any] = []

    def console_socket(route: Any) -> None:
        routes.append(route)
        route.connect_to_server()

    staff.route_web_socket(re.compile(r".*/ws/staff.*"), console_socket)
    open_console(staff, server, sara)
    start_youth_chat(youth, server)
    wait_paired(youth)
    panel = staff.locator("[data-chat]")
    send(staff, "damaged on the way", panel)
    notice = panel.locator("[data-notice=decrypt]")
    expect(notice).to_contain_text("Not readable: A message did not arrive readable")
    expect(notice.locator(".message-time")).to_have_text(CLOCK)

    # The console's own connection drops: said in the chat, and again when it is back.
    routes[-1].close(code=1012, reason="restarting")
    expect(panel.locator("[data-notice=offline]")).to_contain_text("Reconnecting")
    expect(panel.locator("[data-notice=online]")).to_be_visible(timeout=10_000)
    send(youth, "still here")
    expect(panel.locator(".message-body").last).to_have_text("still here")
    shot(staff, "1-decrypt-and-connection-notices")
