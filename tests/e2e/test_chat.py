"""A whole chat in the browser: the youth page and the staff console, two browser contexts."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.conftest import Server, StaffAccount
from tests.e2e.conftest import Contexts
from tests.e2e.pages import bodies, end_chat, open_console, send, start_youth_chat, wait_paired

pytestmark = pytest.mark.browser

XSS = '<img src=x onerror=alert(1)><script>alert(2)</script>"&amp;'


def test_youth_and_counsellor_chat(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    """R-14: a whole chat both ways in the real pages; an XSS payload shows as text on both."""
    youth = contexts.page()
    start_youth_chat(youth, server)
    expect(youth.locator("[data-queue-status]")).to_contain_text("number 1 in the queue")

    staff = contexts.page()
    open_console(staff, server, counsellor)
    panel = staff.locator("[data-chat]")
    expect(panel).to_have_count(1)
    expect(panel.get_by_role("heading")).to_contain_text("young person, sv")
    wait_paired(youth)

    send(youth, "Hej, jag behöver prata med någon.")
    expect(panel.locator(".message-body")).to_have_text(["Hej, jag behöver prata med någon."])
    send(staff, "Hej! Jag heter Sara. Vad vill du prata om?", panel)
    expect(youth.locator("[role=log] .message-body")).to_have_text(
        ["Hej, jag behöver prata med någon.", "Hej! Jag heter Sara. Vad vill du prata om?"]
    )

    # Both directions: the payload is text, never markup (SECURITY R-14).
    send(youth, XSS)
    send(staff, XSS, panel)
    # Each side shows its own copy at once and the other's when it arrives: wait for both.
    expect(panel.locator(".message-body").filter(has_text=XSS)).to_have_count(2)
    expect(youth.locator(".message-body").filter(has_text=XSS)).to_have_count(2)
    assert bodies(panel).count(XSS) == 2
    assert bodies(youth).count(XSS) == 2
    for page in (youth, staff):
        assert page.locator("[role=log] img, [role=log] script").count() == 0
        assert page.locator(".message-body").first.get_attribute("dir") == "auto"
    # Acknowledged by the server: nothing is left pending.
    expect(youth.locator(".message-pending")).to_have_count(0)
    expect(panel.locator(".message-pending")).to_have_count(0)

    # Right-to-left text keeps its direction per message.
    send(youth, "مرحبا")
    expect(panel.locator(".message-body").last).to_have_text("مرحبا")

    end_chat(youth)
    expect(youth.get_by_text("You ended the chat.")).to_be_visible()
    expect(panel.get_by_text("The young person ended the chat.")).to_be_visible()
    # The box is gone after the end, and the header says it ended (issue 12 §3).
    expect(youth.locator("textarea#message")).to_be_hidden()
    expect(youth.locator("[data-chat-with]")).to_have_text("The chat has ended.")
    expect(panel.get_by_role("textbox", name="Message")).to_be_disabled()
    panel.get_by_role("button", name="Remove from list").click()
    expect(staff.locator("[data-chat]")).to_have_count(0)

    staff.get_by_role("button", name="Log out").click()
    expect(staff.get_by_role("button", name="Log in")).to_be_visible()
    assert staff.context.cookies() == []
    assert youth.context.cookies() == []
    assert server.alive()


def test_console_takes_two_chats_and_closes_one(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    staff = contexts.page()
    open_console(staff, server, counsellor)
    first, second = contexts.page(), contexts.page()
    start_youth_chat(first, server)
    wait_paired(first)
    start_youth_chat(second, server, language="en")
    wait_paired(second)
    panels = staff.locator("[data-chat]")
    expect(panels).to_have_count(2)
    # Each chat shows what its young person answered in triage (issue 11).
    summary = panels.nth(1).locator("[data-chat-summary]")
    expect(summary).to_contain_text("Young person · language en · topic: not given")
    expect(summary).to_contain_text("in danger now: no")

    send(first, "from the first")
    send(second, "from the second")
    expect(panels.nth(0).locator(".message-body")).to_have_text(["from the first"])
    expect(panels.nth(1).locator(".message-body")).to_have_text(["from the second"])
    # One chat at a time in the pane: the second is chosen in the list (issue 11 §1).
    staff.locator(f'[data-chat-item="{panels.nth(1).get_attribute("data-conv")}"]').click()
    send(staff, "to the second", panels.nth(1))
    expect(second.locator(".message-body")).to_have_text(["from the second", "to the second"])
    expect(first.locator(".message-body")).to_have_text(["from the first"])

    # Closing asks first; keeping it open changes nothing.
    staff.locator(f'[data-chat-item="{panels.nth(0).get_attribute("data-conv")}"]').click()
    panels.nth(0).get_by_role("button", name="Close chat").click()
    panels.nth(0).get_by_role("button", name="Keep it open").click()
    expect(panels.nth(0).get_by_role("group", name="Close this chat?")).to_be_hidden()
    expect(panels.nth(0).get_by_role("textbox", name="Message")).to_be_enabled()
    panels.nth(0).get_by_role("button", name="Close chat").click()
    panels.nth(0).get_by_role("button", name="Close the chat").click()
    expect(first.get_by_text("Sara ended the chat.")).to_be_visible()
    expect(panels.nth(0).get_by_text("You closed the chat.")).to_be_visible()
    expect(
        panels.nth(1).locator("textarea[name=message]")
    ).to_be_enabled()  # listed, out of the pane


STORED_DEVICES = """
async () => {
  const db = await new Promise((resolve, reject) => {
    const opening = indexedDB.open("vh-staff");
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
  const records = await new Promise((resolve, reject) => {
    const request = db.transaction("devices").objectStore("devices").getAll();
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  db.close();
  return records.map((r) => ({
    id: r.deviceId,
    hpke: r.hpkePrivateKey.constructor.name + ":" + r.hpkePrivateKey.extractable,
    sig: r.sigPrivateKey.constructor.name + ":" + r.sigPrivateKey.extractable,
  }));
}
"""


def test_console_reload_syncs_open_chats(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    """A reloaded console keeps its device keys (IndexedDB), lists its open chats in hello,
    unseals their keys again, syncs them and shows their history."""
    youth = contexts.page()
    staff = contexts.page()
    registrations: list[str] = []  # devices certified (a first try asks for the enrol code)
    staff.on(
        "response",
        lambda r: (
            registrations.append(r.url)
            if r.request.method == "POST"
            and r.url.endswith("/staff/api/devices")
            and r.status == 201
            else None
        ),
    )
    open_console(staff, server, counsellor)
    devices = staff.evaluate(STORED_DEVICES)
    assert len(devices) == 1
    assert devices[0]["hpke"] == devices[0]["sig"] == "CryptoKey:false"
    assert len(registrations) == 1
    start_youth_chat(youth, server)
    wait_paired(youth)
    panel = staff.locator("[data-chat]")
    send(youth, "before the reload")
    send(staff, "reply before the reload", panel)
    expect(youth.locator(".message-body")).to_have_count(2)

    staff.reload()  # the session cookie is kept: straight back to the console
    panel = staff.locator("[data-chat]")
    expect(panel.locator(".message-body")).to_have_text(
        ["before the reload", "reply before the reload"]
    )
    # The same device, not registered again; no key material anywhere but IndexedDB.
    assert staff.evaluate(STORED_DEVICES) == devices
    assert len(registrations) == 1
    assert staff.evaluate("localStorage.length + sessionStorage.length") == 0
    send(youth, "after the reload")
    expect(panel.locator(".message-body").last).to_have_text("after the reload")
    send(staff, "reply after the reload", panel)
    expect(youth.locator(".message-body").last).to_have_text("reply after the reload")

    # Logging out with the chat open asks first (issue 9); logging out anyway hands it back to
    # the queue. The device stays (it is the counsellor's); logging in again reuses it.
    staff.get_by_role("button", name="Log out").click()
    expect(staff.locator("[data-open-chats]")).to_contain_text("Before you log out")
    staff.get_by_role("button", name="Log out anyway").click()
    expect(staff.get_by_role("button", name="Log in")).to_be_visible()
    assert staff.evaluate(STORED_DEVICES) == devices
    open_console(staff, server, counsellor, code_at=time.time() + 30)
    wait_paired(youth)  # the chat came back to Sara, on the same device
    panel = staff.locator("[data-chat]")
    send(youth, "after logging in again")
    expect(panel.locator(".message-body").last).to_have_text("after logging in again")
    assert len(registrations) == 1
