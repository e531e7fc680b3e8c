"""A counsellor's devices on the staff accounts page (issue 13 (1)) in Chromium: an admin opens
the page (no fresh-login proof after the page change, so it asks for the password and a new
code), makes an enrolment code shown once, the counsellor's new browser uses it and is
certified; the admin revokes that device and its console is logged out, and the browser is then
a new device again (asked for a code). The admin's own account offers no code. axe runs on each
state shown (``shot``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import Server
from tests.e2e.conftest import Contexts, staff_account
from tests.e2e.pages import open_console

# The pages' own behaviour (forms, wording, layout): the embedded pass is enough; the chats
# across the broker run on both stacks (tests/conftest.py).
pytestmark = pytest.mark.stack_free


def _row(page: Any, username: str) -> Any:
    return page.locator(f'[data-accounts] tbody tr[data-username="{username}"]')


def test_an_admin_makes_a_code_the_counsellor_uses_then_revokes_the_device(
    server: Server, contexts: Contexts, shot: Callable[[Any, str], None]
) -> None:
    """R-25: A new device's code from the admin page needs the admin's own fresh login; the
    revoked device is refused."""
    admin = staff_account(server, "devroot", "Dev Root", role="admin")
    sara = staff_account(server, "devsara", "Dev Sara", languages=["sv"])
    page = contexts.page()
    page.set_viewport_size({"width": 1280, "height": 800})
    open_console(page, server, admin, on_duty=False)
    page.goto(server.base_url + "/staff/admin")
    expect(page.get_by_text("Logged in as Dev Root (admin).")).to_be_visible()

    # Not for oneself: a second person must be involved.
    _row(page, "devroot").get_by_role("button", name="Devices: devroot").click()
    devices = page.locator("[data-devices]")
    expect(devices.get_by_role("heading", level=2)).to_have_text("Devices of Dev Root (devroot)")
    expect(devices).to_contain_text("You cannot make an enrolment code for your own account")
    expect(devices.get_by_role("button", name="Create enrolment code")).to_be_hidden()

    _row(page, "devsara").get_by_role("button", name="Devices: devsara").click()
    expect(devices.get_by_role("heading", level=2)).to_have_text("Devices of Dev Sara (devsara)")
    expect(devices.get_by_text("No devices yet.")).to_be_visible()
    devices.get_by_role("button", name="Create enrolment code").click()
    # A page change left no proof in memory: log in again to do this.
    fresh = devices.locator("[data-fresh-form]")
    expect(fresh.get_by_role("heading")).to_have_text("Log in again to do this")
    shot(page, "admin-devices-1-log-in-again")
    fresh.get_by_label("Your password").fill("a wrong password 123")
    fresh.get_by_label("Authenticator code").fill("000000")
    fresh.get_by_role("button", name="Confirm and create the code").click()
    expect(fresh.get_by_role("alert")).not_to_be_empty()
    fresh.get_by_label("Your password").fill(admin.password)
    fresh.get_by_label("Authenticator code").fill(admin.code(time.time() + 30))
    fresh.get_by_role("button", name="Confirm and create the code").click()
    secret = page.locator("[data-secret]")
    expect(secret).to_contain_text("Enrolment code")
    code = secret.locator("[data-secret-values] code").inner_text()
    assert len(code.replace("-", "")) == 10
    expect(fresh).to_have_count(0)
    shot(page, "admin-devices-2-code-shown")
    secret.get_by_role("button", name="I have saved it").click()
    expect(page.locator("[data-secret-values]")).to_be_empty()

    # The counsellor's new browser: password and code, then the enrolment code from the admin.
    console = contexts.page()
    console.goto(server.base_url + "/staff")
    console.get_by_label("Username").fill(sara.username)
    console.get_by_label("Password").fill(sara.password)
    console.get_by_label("6-digit code").fill(sara.code())
    console.get_by_role("button", name="Log in").click()
    console.get_by_label("Enrolment code").fill(code)
    console.get_by_role("button", name="Set up this device").click()
    expect(console.get_by_role("status").filter(has_text="Connected")).to_be_visible()

    # The admin sees the device registered, and revokes it.
    _row(page, "devsara").get_by_role("button", name="Devices: devsara").click()
    rows = devices.locator("[data-device-list] tbody tr")
    expect(rows).to_have_count(1)
    device_id = rows.first.get_attribute("data-device")
    assert device_id
    expect(rows.first.locator("td").nth(2)).to_have_text("")  # not revoked
    rows.first.get_by_role("button", name=f"Revoke device {device_id}").click()
    shot(page, "admin-devices-3-confirm-revoke")
    rows.first.get_by_role("button", name=f"Yes, revoke device {device_id}").click()
    expect(page.get_by_role("status").filter(has_text="Revoked device")).to_contain_text("devsara")
    expect(rows.first.locator("td").nth(2)).to_contain_text("UTC")
    expect(console.get_by_text("Your session has ended. Log in again.")).to_be_visible(
        timeout=5_000
    )
    # The revoked device is refused: this browser is a new device again, asked for a code.
    console.goto(server.base_url + "/staff")
    console.get_by_label("Username").fill(sara.username)
    console.get_by_label("Password").fill(sara.password)
    console.get_by_label("6-digit code").fill(sara.code(time.time() + 30))
    console.get_by_role("button", name="Log in").click()
    expect(console.get_by_label("Enrolment code")).to_be_visible()
    shot(page, "admin-devices-4-revoked")
