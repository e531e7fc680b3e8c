"""Canned replies in Chromium (issue 11): an admin adds replies on /staff/admin/replies; a
counsellor in another browser types "/word" in a chat, picks one, edits it and sends, and the
young person gets the edited text only (the pick itself sends nothing). Payloads as title and
text show as text on both pages. Screenshots go to ``artifacts/screenshots``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import Server, StaffAccount
from tests.e2e.conftest import Contexts, staff_account
from tests.e2e.pages import bodies, open_console, start_youth_chat, wait_paired
from tests.expiry.world import rows

# The pages' own behaviour (forms, wording, layout): the embedded pass is enough; the chats
# across the broker run on both stacks (tests/conftest.py).
pytestmark = pytest.mark.stack_free

GREETING = "Hej! Jag heter Sara och jag är här för att lyssna på dig."
XSS_TITLE = "<img src=x onerror=alert(1)>"
XSS_BODY = '<script>alert("body")</script><b>bold?</b>'


def _add(page: Any, language: str, title: str, body: str) -> None:
    form = page.locator("[data-reply-form]")
    form.get_by_label("Language").select_option(language)
    form.get_by_label("Title").fill(title)
    form.get_by_label("Text", exact=True).fill(body)
    form.get_by_role("button", name="Add the reply").click()


def test_an_admin_adds_a_reply_and_a_counsellor_inserts_edits_and_sends_it(
    server: Server,
    counsellor: StaffAccount,
    contexts: Contexts,
    in_thread: Any,
    shot: Callable[[Any, str], None],
) -> None:
    admin_account = staff_account(server, "anna", "Anna", role="admin")

    visitor = contexts.page()
    visitor.goto(server.base_url + "/staff/admin/replies")
    expect(visitor.get_by_text("Log in on the staff console first.")).to_be_visible()
    shot(visitor, "1-anonymous")

    admin = contexts.page()
    open_console(admin, server, admin_account, on_duty=False)
    admin.goto(server.base_url + "/staff/admin/replies")
    expect(admin.get_by_text("Logged in as Anna (admin).")).to_be_visible()
    nav = admin.get_by_role("navigation", name="Staff pages")
    expect(nav.get_by_role("link")).to_have_text(
        [
            "Console",
            "Live board",
            "Statistics",
            "Audit log",
            "Staff accounts",
            "Canned replies",
            "Centre settings",
        ]
    )
    expect(admin.get_by_role("heading", name="Svenska (sv): 0 replies")).to_be_visible()
    shot(admin, "2-admin-empty")

    _add(admin, "sv", "hej", GREETING)
    expect(admin.get_by_role("status").filter(has_text="Added /hej.")).to_be_visible()
    _add(admin, "sv", XSS_TITLE, XSS_BODY)
    expect(admin.get_by_role("status").filter(has_text=f"Added /{XSS_TITLE}.")).to_be_visible()
    _add(admin, "en", "hej", "Hi! My name is Sara.")
    swedish = admin.get_by_role("region", name="Svenska (sv): 2 replies")
    expect(swedish.get_by_role("row")).to_have_count(3)
    expect(swedish.get_by_role("rowheader", name=f"/{XSS_TITLE}")).to_be_visible()
    expect(swedish.get_by_role("cell", name=XSS_BODY)).to_be_visible()  # as text, not markup
    expect(admin.get_by_role("region", name="English (en): 1 reply")).to_be_visible()
    shot(admin, "3-admin-added")

    _add(admin, "sv", "HEJ", "another")
    expect(admin.get_by_role("alert").filter(has_text="already has a reply")).to_be_visible()
    expect(admin.get_by_label("Title")).to_be_focused()
    shot(admin, "4-admin-duplicate")

    # Edited and deleted (with a confirmation first).
    admin.get_by_role("button", name="Edit /hej").first.click()
    expect(admin.get_by_role("heading", name="Edit /hej")).to_be_visible()
    admin.get_by_label("Text", exact=True).fill(GREETING + " Vad vill du prata om?")
    admin.get_by_role("button", name="Save changes").click()
    expect(admin.get_by_role("status").filter(has_text="Saved /hej.")).to_be_visible()
    english = admin.get_by_role("region", name="English (en): 1 reply")
    english.get_by_role("button", name="Delete /hej").click()
    expect(english.get_by_role("alert")).to_have_text(
        "Delete /hej? Counsellors can no longer insert it."
    )
    shot(admin, "5-admin-confirm-delete")
    english.get_by_role("button", name="Yes, delete it").click()
    expect(admin.get_by_role("region", name="English (en): 0 replies")).to_be_visible()
    shot(admin, "6-admin-deleted")
    audited = in_thread(
        rows, server, "SELECT action FROM audit_log WHERE action LIKE 'canned.%' ORDER BY id"
    ).result()
    assert [a for (a,) in audited] == [
        "canned.created",
        "canned.created",
        "canned.created",
        "canned.updated",
        "canned.deleted",
    ]

    # A counsellor, in another browser context, in a Swedish chat.
    context = contexts.new()
    staff = context.new_page()
    open_console(staff, server, counsellor)
    elsewhere = context.new_page()  # the same session, on the admin page
    elsewhere.goto(server.base_url + "/staff/admin/replies")
    expect(elsewhere.get_by_text("Canned replies are managed by admins.")).to_be_visible()
    expect(elsewhere.locator("[data-reply-form]")).to_be_hidden()
    elsewhere.close()
    youth = contexts.page()
    start_youth_chat(youth, server, language="sv")
    wait_paired(youth)
    panel = staff.locator("[data-chat]").first
    box = panel.get_by_role("textbox", name="Message")
    expect(box).to_be_enabled()
    expect(panel.get_by_text("Type / and a word for a canned reply.")).to_be_visible()

    box.press_sequentially("/he")
    listbox = panel.get_by_role("listbox", name="Canned replies")
    expect(listbox).to_be_visible()
    expect(listbox.get_by_role("option")).to_have_count(1)
    expect(listbox.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    expect(listbox.get_by_role("option").first).to_contain_text("/hej Hej! Jag heter Sara")
    shot(staff, "7-console-listbox")
    box.press("Enter")
    expect(listbox).to_be_hidden()
    inserted = GREETING + " Vad vill du prata om?"
    expect(box).to_have_value(inserted)
    expect(box).to_be_focused()
    shot(staff, "8-console-inserted")
    assert bodies(youth) == []  # inserting sent nothing
    assert bodies(panel) == []

    box.press_sequentially(" Du är trygg här.")
    shot(staff, "9-console-edited")
    panel.get_by_role("button", name="Send").click()
    edited = inserted + " Du är trygg här."
    expect(youth.locator("[role=log] .message-body")).to_have_text([edited])
    expect(panel.locator(".message-body")).to_have_text([edited])

    # Every reply of the chat's language on "/" alone; the payload as text; Escape closes.
    box.press_sequentially("/")
    expect(listbox.get_by_role("option")).to_have_count(2)
    payload = listbox.get_by_role("option").filter(has_text=f"/{XSS_TITLE}")
    expect(payload).to_contain_text(XSS_BODY)
    expect(listbox.locator("img, script, b")).to_have_count(0)
    box.press("ArrowDown")
    expect(listbox.get_by_role("option").nth(1)).to_have_attribute("aria-selected", "true")
    shot(staff, "10-console-payload")
    box.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_value("/")

    # In the middle of a text too, picked with the mouse: only the "/word" is replaced.
    box.fill("Hej. ")
    box.press("End")
    box.press_sequentially("/onerr")
    listbox.get_by_role("option").filter(has_text=XSS_TITLE).click()
    expect(box).to_have_value("Hej. " + XSS_BODY)
    expect(youth.locator("[role=log] .message-body")).to_have_text([edited])  # nothing more
