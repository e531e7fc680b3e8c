"""A counsellor sees their certified devices and is told of another one registered lately
(issue 13 (1)): a device registered elsewhere with their password and code does not go unseen."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.conftest import Server, StaffAccount
from tests.e2e.conftest import Contexts
from tests.e2e.pages import open_console


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
