"""An ended chat does not stay on a console left open (issue 13 (6)): its keys go at the end and
its messages ten minutes later, leaving only a notice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.conftest import Server, StaffAccount
from tests.e2e.conftest import Contexts
from tests.e2e.pages import bodies, end_chat, open_console, send, start_youth_chat, wait_paired


def test_an_ended_chat_is_cleared_from_the_console(
    server: Server, counsellor: StaffAccount, contexts: Contexts, shot: Callable[[Any, str], None]
) -> None:
    staff = contexts.page()
    staff.clock.install()  # the page's timers run on a clock the test can move on
    open_console(staff, server, counsellor)
    youth = contexts.page()
    start_youth_chat(youth, server)
    wait_paired(youth)
    send(youth, "något privat")
    panel = staff.locator("[data-chat]").first
    expect(panel.locator(".message-body")).to_have_text(["något privat"])
    end_chat(youth)
    expect(panel.get_by_text("The young person ended the chat.")).to_be_visible()
    expect(panel.get_by_role("textbox", name="Message")).to_be_disabled()
    assert bodies(panel) == ["något privat"]  # still there to finish the notes

    staff.clock.fast_forward("09:00")
    assert bodies(panel) == ["något privat"]
    staff.clock.fast_forward("01:05")
    expect(panel.get_by_text("This ended chat was cleared from the console.")).to_be_visible()
    assert bodies(panel) == []
    assert "något privat" not in staff.content()
    shot(staff, "ended-chat-cleared")
