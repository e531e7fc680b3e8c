"""The staff accounts page (/staff/admin, issue 11 §3) in Chromium: only admins get in; an admin
edits an on-duty counsellor and the waiting Arabic-speaking young person is routed to them at
once; a TOTP reset logs that counsellor's open console out within 5 s; an alias that looks like
markup shows as text; an account is added and its secrets are shown once. Screenshots of each
state go to ``artifacts/screenshots``."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import Server
from tests.e2e.conftest import Contexts, staff_account
from tests.e2e.pages import open_console, start_youth_chat, wait_paired
from tests.expiry.world import rows

# The pages' own behaviour (forms, wording, layout): the embedded pass is enough; the chats
# across the broker run on both stacks (tests/conftest.py).
pytestmark = pytest.mark.stack_free

XSS_ALIAS = '<img src=x onerror="alert(1)">'


def _row(page: Any, username: str) -> Any:
    return page.locator(f'[data-accounts] tbody tr[data-username="{username}"]')


def test_only_admins_open_the_staff_accounts_page(
    server: Server, contexts: Contexts, shot: Callable[[Any, str], None]
) -> None:
    anonymous = contexts.page()
    anonymous.goto(server.base_url + "/staff/admin")
    expect(anonymous.get_by_text("Log in on the staff console first.")).to_be_visible()
    nav = anonymous.get_by_role("navigation", name="Staff pages")
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
    shot(anonymous, "admin-0-anonymous")
    for role in ("counsellor", "supervisor"):
        account = staff_account(server, role, role.title(), role=role)
        page = contexts.page()
        open_console(page, server, account, on_duty=False)
        page.goto(server.base_url + "/staff/admin")
        expect(page.get_by_text("Staff accounts are managed by admins.")).to_be_visible()
        expect(page.locator("[data-admin]")).to_be_hidden()
    shot(page, "admin-0-supervisor-refused")


def test_an_admin_edits_resets_and_adds_accounts(
    server: Server, contexts: Contexts, in_thread: Any, shot: Callable[[Any, str], None]
) -> None:
    admin = staff_account(server, "root", "Root", role="admin")
    sara = staff_account(server, "sara", "Sara", languages=["sv"])
    staff_account(server, "bo", XSS_ALIAS)

    console = contexts.page()
    open_console(console, server, sara, on_duty=True)
    youth = contexts.page()
    start_youth_chat(youth, server, language="ar")  # nobody on duty speaks Arabic: it waits

    page = contexts.page()
    page.set_viewport_size({"width": 1280, "height": 800})  # an admin's desk
    open_console(page, server, admin, on_duty=False)
    page.goto(server.base_url + "/staff/admin")
    expect(page.get_by_text("Logged in as Root (admin).")).to_be_visible()
    expect(_row(page, "sara")).to_contain_text("sv")
    expect(_row(page, "sara").locator("td").nth(6)).to_have_text("yes")  # on duty
    expect(_row(page, "bo").get_by_role("rowheader")).to_have_text(XSS_ALIAS)  # text, not markup
    expect(page.locator("[data-accounts] img")).to_have_count(0)
    shot(page, "admin-1-accounts")

    # Edit: Sara gains Arabic; the waiting young person is routed to her at once.
    _row(page, "sara").get_by_role("button", name="Edit: sara").click()
    form = page.locator("[data-edit-form]")
    expect(form.get_by_role("heading")).to_have_text("Edit Sara (sara)")
    expect(form.get_by_role("checkbox", name=re.compile(r"\(sv\)"))).to_be_checked()
    form.get_by_role("checkbox", name=re.compile(r"\(ar\)")).check()
    form.get_by_label("Capacity (chats at once)").fill("3")
    shot(page, "admin-2-edit-form")
    form.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("Saved sara: languages, capacity changed")
    started = time.monotonic()
    wait_paired(youth, "Sara")
    assert time.monotonic() - started < 5  # without going off and on duty
    expect(_row(page, "sara")).to_contain_text("ar, sv")
    shot(page, "admin-3-edited")
    shot(youth, "admin-3-youth-paired")

    # A refused edit says why, in the form.
    _row(page, "bo").get_by_role("button", name="Edit: bo").click()
    form.get_by_label("Alias (the name young people see)").fill("SARA")
    form.get_by_role("button", name="Save changes").click()
    expect(form.get_by_role("alert")).to_contain_text("the alias 'SARA' is taken")
    shot(page, "admin-4-edit-refused")
    form.get_by_role("button", name="Cancel").click()

    # Reset TOTP, confirmed in the page: Sara's open console is logged out within 5 s.
    _row(page, "sara").get_by_role("button", name="Reset TOTP: sara").click()
    confirm = page.locator("[data-confirm]")
    expect(confirm).to_contain_text("will be logged out everywhere at once")
    shot(page, "admin-5-confirm-reset")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    _row(page, "sara").get_by_role("button", name="Reset TOTP: sara").click()
    confirm.get_by_role("button", name="Yes, reset TOTP").click()
    started = time.monotonic()
    secret = page.locator("[data-secret]")
    expect(secret).to_contain_text("This is the only time it is shown")
    expect(secret).to_contain_text("otpauth://totp/")
    expect(console.get_by_text("Your session has ended. Log in again.")).to_be_visible(
        timeout=5_000
    )
    assert time.monotonic() - started < 5
    shot(page, "admin-6-secret-shown")
    shot(console, "admin-6-console-logged-out")
    secret.get_by_role("button", name="I have saved it").click()
    expect(secret).to_be_hidden()
    expect(page.locator("[data-secret-values]")).to_be_empty()

    # Disable, then enable again.
    _row(page, "bo").get_by_role("button", name="Disable: bo").click()
    confirm.get_by_role("button", name="Yes, disable").click()
    expect(_row(page, "bo").locator("td").nth(7)).to_have_text("yes")
    expect(_row(page, "bo").get_by_role("button", name="Enable: bo")).to_be_visible()
    shot(page, "admin-7-disabled")
    _row(page, "bo").get_by_role("button", name="Enable: bo").click()
    confirm.get_by_role("button", name="Yes, enable").click()
    expect(_row(page, "bo").locator("td").nth(7)).to_have_text("no")

    # Add an account: a duplicate alias is refused, then the secrets are shown once.
    add = page.locator("[data-add-form]")
    add.get_by_label("Username (for logging in)").fill("nils")
    add.get_by_label("Alias (the name young people see)").fill("sara")
    add.get_by_role("button", name="Add account").click()
    expect(add.get_by_role("alert")).to_contain_text("is taken")
    add.get_by_label("Alias (the name young people see)").fill("Nils")
    add.get_by_role("checkbox", name=re.compile(r"\(en\)")).check()
    add.get_by_role("button", name="Add account").click()
    expect(secret).to_contain_text("Shown once: the login of nils")
    expect(secret.locator("dt")).to_have_text(
        ["Password", "TOTP secret", "Provisioning URI (for the authenticator app)"]
    )
    expect(_row(page, "nils")).to_contain_text("en, sv")
    shot(page, "admin-8-added")

    actions = in_thread(
        rows, server, "SELECT action, staff_id FROM audit_log WHERE action LIKE 'staff.%'"
    ).result()
    done = [a for a, who in actions if who == admin.staff_id]
    for action in ("staff.edit", "staff.reset_totp", "staff.disable", "staff.enable", "staff.add"):
        assert action in done, done
