"""axe-core WCAG 2.2 AA checks of the staff pages in each main state (issue 11).

Each test walks a page through the states a counsellor or supervisor meets on an evening and runs
axe in every one of them (tests/e2e/axe.py): logged out, on duty with chats, a form open, an alert.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import Server, StaffAccount
from tests.e2e.axe import assert_accessible, violations
from tests.e2e.conftest import Contexts, staff_account
from tests.e2e.pages import open_console, start_youth_chat, wait_paired

# The pages' own behaviour (forms, wording, layout): the embedded pass is enough; the chats
# across the broker run on both stacks (tests/conftest.py).
pytestmark = pytest.mark.stack_free

Shot = Callable[[Any, str], None]


def test_the_console_in_each_state(
    server: Server, counsellor: StaffAccount, contexts: Contexts, shot: Shot
) -> None:
    staff = contexts.page()
    staff.goto(server.base_url + "/staff")
    expect(staff.get_by_role("button", name="Log in")).to_be_visible()
    assert_accessible(staff, "console, logged out")

    staff.get_by_label("Username").fill(counsellor.username)
    staff.get_by_label("Password").fill("wrong password")
    staff.get_by_label("6-digit code").fill("000000")
    staff.get_by_role("button", name="Log in").click()
    expect(staff.get_by_role("alert")).not_to_be_empty()
    assert_accessible(staff, "console, login refused")

    open_console(staff, server, counsellor, on_duty=True)
    assert_accessible(staff, "console, on duty without chats")

    youth = contexts.page()
    start_youth_chat(youth, server)
    wait_paired(youth)
    chat = staff.locator("[data-chat]").first
    expect(chat.get_by_role("textbox", name="Message")).to_be_enabled()
    assert_accessible(staff, "console, one chat")

    chat.get_by_role("button", name="Close chat").click()
    expect(chat.get_by_role("button", name="Close the chat")).to_be_visible()
    assert_accessible(staff, "console, closing form")
    shot(staff, "console-closing-form")


def test_the_board_in_each_state(server: Server, contexts: Contexts, shot: Shot) -> None:
    supervisor = staff_account(server, "lena", "Lena", role="supervisor")
    counsellor = staff_account(server, "sara", "Sara")

    anonymous = contexts.page()
    anonymous.goto(server.base_url + "/staff/board")
    expect(anonymous.get_by_text("Log in on the staff console first.")).to_be_visible()
    assert_accessible(anonymous, "board, logged out")

    staff = contexts.page()
    open_console(staff, server, counsellor, on_duty=True)
    board = contexts.page()
    open_console(board, server, supervisor, on_duty=False)
    board.goto(server.base_url + "/staff/board")
    expect(board.get_by_text("No alerts.")).to_be_visible()
    assert_accessible(board, "board, quiet")

    youth = contexts.page()
    start_youth_chat(youth, server)
    expect(board.locator("[data-chats] tbody tr")).to_have_count(1)
    staff.get_by_role("button", name="Go off duty").click()
    alert = board.locator("[data-alerts] li").filter(has_text="nobody is on duty")
    expect(alert).to_be_visible(timeout=3_000)
    assert_accessible(board, "board, a chat and an alert")
    alert.get_by_role("button", name="Acknowledge").click()
    expect(alert).to_contain_text("Acknowledged by Lena")
    assert_accessible(board, "board, alert acknowledged")
    shot(board, "board-acknowledged")


def test_the_check_finds_a_violation(server: Server, contexts: Contexts) -> None:
    """The check can fail: a page of ours with an unlabelled field and light grey text."""
    page = contexts.page()
    page.goto(server.base_url + "/staff")
    page.evaluate(
        """() => {
            const field = document.createElement("input");
            document.body.append(field);
            const faint = document.createElement("p");
            faint.textContent = "faint";
            faint.style.color = "#eeeeee";
            document.body.append(faint);
        }"""
    )
    found = {v["id"] for v in violations(page)}
    assert {"label", "color-contrast"} <= found
