"""A whole evening on the staff side in Chromium (issue 11): two counsellors and a supervisor in
browser contexts of their own, young people on the youth pages.

Sara takes two chats at once and answers one with a canned reply she edits first; she hands the
other to Ali warm with a note that stays readable after he accepts; Ali sends it back to the
queue cold and Sara gets it again with its triage summary; Sara closes a chat with categories,
which show in the statistics; the supervisor sees the join on the board within 2 s, and an alert
(nobody on duty while a chat is open) that she acknowledges, which the audit log shows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.conftest import ROOT, Server
from tests.e2e.conftest import Contexts, staff_account
from tests.e2e.pages import bodies, handed_over, open_console, send, start_youth_chat, wait_paired
from tests.e2e.test_console_evening import _transfer
from tests.expiry.world import rows

Shot = Callable[[Any, str], None]
REPLY = "Hej! Jag heter Sara och jag finns här för dig."


def _canned(server: Server, title: str, body: str) -> None:
    """An admin's canned reply, added with ``vhouse canned add`` (the page has its own test)."""
    env = {**os.environ, "VH_MODE": "test", "VH_DATABASE_URL": server.database.url}
    subprocess.run(  # noqa: S603 - our own CLI
        [
            sys.executable,
            "-m",
            "app.cli",
            "canned",
            "add",
            "--language=sv",
            f"--title={title}",
            f"--body={body}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=True,
    )


def _open_chat_with(staff: Any, text: str) -> tuple[Any, str]:
    """Choose, in the chat list, the chat whose transcript holds ``text``: its pane and label."""
    items = staff.locator("[data-chat-item]")
    for i in range(items.count()):
        items.nth(i).click()
        pane = staff.locator("[data-chat]:visible")
        if pane.locator(".message-body").filter(has_text=text).count():
            return pane, items.nth(i).locator(".chat-item-name").inner_text()
    raise AssertionError(f"no chat shows {text!r}")


def test_an_evening_with_two_counsellors_and_a_supervisor(
    server: Server, contexts: Contexts, in_thread: Any, shot: Shot
) -> None:
    sara = staff_account(server, "sara", "Sara", capacity=3)
    ali = staff_account(server, "ali", "Ali")
    lena = staff_account(server, "lena", "Lena", role="supervisor")
    _canned(server, "hej", REPLY)

    staff_a, staff_b = contexts.page(), contexts.page()
    for page in (staff_a, staff_b):
        page.set_viewport_size({"width": 1280, "height": 800})
    open_console(staff_a, server, sara)
    board = contexts.page()
    board.set_viewport_size({"width": 1280, "height": 900})
    open_console(board, server, lena, on_duty=False)
    board.goto(server.base_url + "/staff/board")
    expect(board.get_by_text("No alerts.")).to_be_visible()

    # Two young people at once; the board shows each join within 2 s.
    first, second = contexts.page(), contexts.page()
    start_youth_chat(first, server)
    expect(board.locator("[data-chats] tbody tr")).to_have_count(1, timeout=2_000)
    wait_paired(first, "Sara")
    start_youth_chat(second, server)
    expect(board.locator("[data-chats] tbody tr")).to_have_count(2, timeout=2_000)
    wait_paired(second, "Sara")
    expect(staff_a.locator("[data-chat-item]")).to_have_count(2)
    shot(board, "1-board-two-chats")

    # A canned reply, found with "/he", edited, then sent: only the edited text arrives.
    send(first, "Hej, jag behöver prata.")
    send(second, "Kan jag prata med någon annan?")
    # The chat on screen shows the message; the other one counts it as unread.
    expect(staff_a.locator(".chat-item-unread:visible")).to_have_count(1)
    panel_first, label_first = _open_chat_with(staff_a, "Hej, jag behöver prata.")
    box = panel_first.get_by_role("textbox", name="Message")
    box.press_sequentially("/he")
    expect(panel_first.get_by_role("listbox", name="Canned replies")).to_be_visible()
    box.press("Enter")
    expect(box).to_have_value(REPLY)
    assert bodies(first) == ["Hej, jag behöver prata."]  # inserting sent nothing
    box.press_sequentially(" Vad vill du berätta?")
    panel_first.get_by_role("button", name="Send").click()
    expect(first.locator("[role=log] .message-body").last).to_have_text(
        REPLY + " Vad vill du berätta?"
    )
    shot(staff_a, "2-canned-reply-sent")

    # Warm to Ali with a note; the note stays readable after he accepts.
    open_console(staff_b, server, ali)
    panel_second, _ = _open_chat_with(staff_a, "Kan jag prata med någon annan?")
    note = "Vill prata om skolan; <i>ingen</i> fara just nu."
    _transfer(panel_second, f"staff:{ali.staff_id}", "warm", note)
    staff_b.locator("[data-offer]").get_by_role("button", name="Accept").click()
    wait_paired(second, "Ali")
    panel_ali = staff_b.locator("[data-chat]:visible")
    handoff = panel_ali.get_by_role("region", name="Handoff note from Sara")
    expect(handoff).to_contain_text(note)  # as text: no <i> element
    assert handoff.locator("i").count() == 0
    send(second, "Hej Ali")
    expect(panel_ali.locator(".message-body")).to_have_text(["Hej Ali"])
    expect(handoff).to_be_visible()
    shot(staff_b, "3-handoff-note-after-accept")

    # Cold back to the queue: Sara, the only one on duty then, gets it with its summary.
    staff_b.get_by_role("button", name="Go off duty").click()
    expect(staff_b.locator("[data-open-chats]")).to_be_visible()  # asked: what of the chat?
    _transfer(panel_ali, "queue", "cold", kind="youth")
    handed_over(staff_b)
    wait_paired(second, "Sara")
    back = staff_a.locator("[data-chat]").filter(has_text="Chat passed to you.")
    expect(back.locator("[data-chat-summary]")).to_contain_text("Young person · language sv")
    shot(staff_a, "4-cold-transfer-back-with-summary")

    # Sara closes the first chat with categories; they show in the statistics.
    staff_a.locator("[data-chat-item]").filter(has_text=label_first).click()
    panel_first = staff_a.locator("[data-chat]:visible")
    panel_first.get_by_role("button", name="Close chat").click()
    form = panel_first.get_by_role("group", name="Close this chat?")
    form.get_by_label("Topic").select_option("forced_marriage")
    form.get_by_label("Outcome").select_option("referred")
    form.get_by_label("Social services").check()
    form.get_by_role("button", name="Close the chat").click()
    expect(first.get_by_text("Sara ended the chat.")).to_be_visible()
    stats = contexts.new().new_page()
    open_console(stats, server, lena, on_duty=False, code_at=time.time() + 30)
    stats.goto(server.base_url + "/staff/stats")
    referrals = stats.locator('[data-table="referral"]')
    expect(referrals.get_by_role("row", name="Social services")).to_contain_text("fewer than 5")
    shot(stats, "5-statistics-with-the-close-tags")

    # Sara goes off duty with a chat open: the board raises an alert; Lena acknowledges it.
    staff_a.get_by_role("button", name="Go off duty").click()
    alert = board.locator("[data-alerts] li").filter(has_text="nobody is on duty")
    expect(alert).to_be_visible(timeout=3_000)
    alert.get_by_role("button", name="Acknowledge").click()
    expect(alert).to_contain_text("Acknowledged by Lena")
    shot(board, "6-alert-acknowledged")
    stats.goto(server.base_url + "/staff/audit")
    stats.get_by_label("What").select_option("alert.acknowledged")
    stats.get_by_role("button", name="Filter").click()
    expect(stats.locator("[data-audit-table] tbody tr")).to_have_count(1)
    expect(stats.locator("[data-audit-table] tbody tr")).to_contain_text("Lena")
    shot(stats, "7-audit-the-acknowledgement")
    audited = in_thread(
        rows, server, "SELECT detail FROM audit_log WHERE action = 'alert.acknowledged'"
    ).result()
    assert [json.loads(d)["kind"] for (d,) in audited] == ["nobody_on_duty"]
