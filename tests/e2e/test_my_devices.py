"""A counsellor sees their certified devices and is told of another one registered lately
(issue 13 (1)): a device registered elsewhere with their password and code does not go unseen."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import Server, StaffAccount, enrol_code
from tests.e2e.conftest import Contexts
from tests.e2e.pages import open_console

# The pages' own behaviour (forms, wording, layout): the embedded pass is enough; the chats
# across the broker run on both stacks (tests/conftest.py).
pytestmark = pytest.mark.stack_free


def test_another_new_device_is_told_and_the_list_shows_this_one(
    server: Server, counsellor: StaffAccount, contexts: Contexts, shot: Callable[[Any, str], None]
) -> None:
    laptop = contexts.page()
    open_console(laptop, server, counsellor, on_duty=False)
    devices = laptop.locator("[data-my-devices]")
    expect(devices.locator("summary")).to_have_text("Your devices: 1 active")
    expect(laptop.locator("[data-my-devices-warning]")).to_be_hidden()

    elsewhere = contexts.page()  # another browser: a second device for the same account
    open_console(elsewhere, server, counsellor, on_duty=False, code_at=time.time() + 30)
    # Told at once, on the open console (device_added on its socket), not only after a reload.
    pushed = laptop.locator("[data-my-devices-warning]")
    expect(pushed).to_contain_text("Another device was registered for your account on")
    expect(devices.locator("summary")).to_have_text("Your devices: 2 active")

    laptop.reload()
    expect(laptop.get_by_role("button", name="Go on duty")).to_be_visible()
    expect(devices.locator("summary")).to_have_text("Your devices: 2 active")
    warning = laptop.locator("[data-my-devices-warning]")
    expect(warning).to_contain_text("Another device was registered for your account on")
    expect(warning).to_contain_text("tell an admin at once")
    devices.locator("summary").click()
    items = devices.locator("li")
    expect(items).to_have_count(2)
    expect(items.filter(has_text="(this device)")).to_have_count(1)
    shot(laptop, "another-device-told")


def test_a_new_device_asks_for_its_enrolment_code(
    server: Server, counsellor: StaffAccount, contexts: Contexts, shot: Callable[[Any, str], None]
) -> None:
    """SECURITY R-25 (issue 13 (1)): after password and code, a browser that is a new
    device asks for the account's enrolment code (``vhouse staff enrol``); a wrong one is
    refused and asked again, the right one certifies the device and the console connects."""
    page = contexts.page()
    page.goto(server.base_url + "/staff")
    page.get_by_label("Username").fill(counsellor.username)
    page.get_by_label("Password").fill(counsellor.password)
    page.get_by_label("6-digit code").fill(counsellor.code())
    page.get_by_role("button", name="Log in").click()
    field = page.get_by_label("Enrolment code")
    expect(field).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="needs its enrolment code")).to_be_visible()
    shot(page, "enrolment-code-asked")  # and axe on the form
    field.fill("ABCDE-FGHJK")
    page.get_by_role("button", name="Set up this device").click()
    expect(page.get_by_role("alert").filter(has_text="wrong, used or expired")).to_be_visible()
    with ThreadPoolExecutor(1) as pool:
        code = pool.submit(enrol_code, server.database, counsellor.staff_id).result()
    page.get_by_label("Enrolment code").fill(code)
    page.get_by_role("button", name="Set up this device").click()
    expect(page.get_by_role("status").filter(has_text="Connected")).to_be_visible()
    expect(page.get_by_label("Enrolment code")).to_have_count(0)
