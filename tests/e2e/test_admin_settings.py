"""The centre's settings page (issue 11 §3) in Chromium: an admin's change is in force at once.
A closed date refuses the next young person with the next opening; a topic routed to a skill
queue sends the next ticket there; a lower queue threshold raises the board's alert. A mistake
is shown beside its field and nothing is stored; other roles are turned away. Screenshots go
to ``artifacts/screenshots``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from app.client import YouthClient
from tests.conftest import Server
from tests.e2e.conftest import Contexts, staff_account
from tests.e2e.pages import open_console
from tests.e2e.test_entry import _join
from tests.expiry.world import rows

# The pages' own behaviour (forms, wording, layout): the embedded pass is enough; the chats
# across the broker run on both stacks (tests/conftest.py).
pytestmark = pytest.mark.stack_free

PAGE = "/staff/admin/settings"
XSS_NAME = '<img src=x onerror="alert(1)">'


async def _ticket_queue(server: Server, topic: str) -> str:
    """The queue a young person choosing ``topic`` waits in (they leave again at once)."""
    youth = YouthClient(server.base_url)
    await youth.connect()
    try:
        triage = {"language": "sv", "kind": "youth", "danger_now": False, "topic": topic}
        await youth.send({"type": "join", "triage": triage})
        return str((await youth.expect("ticket"))["queue"])
    finally:
        await youth.close()


def test_an_admins_change_is_in_force_at_once(
    server: Server, contexts: Contexts, in_thread: Any, shot: Callable[[Any, str], None]
) -> None:
    admin = staff_account(server, "ada", "Ada", role="admin")
    supervisor = staff_account(server, "lena", "Lena", role="supervisor")
    counsellor = staff_account(server, "sara", "Sara", skills=["youth", "safety_team"])

    anonymous = contexts.page()
    anonymous.goto(server.base_url + PAGE)
    expect(anonymous.get_by_text("Log in on the staff console first.")).to_be_visible()
    other = contexts.page()
    open_console(other, server, counsellor, on_duty=False)
    other.goto(server.base_url + PAGE)
    expect(other.get_by_text("The centre's settings are for admins.")).to_be_visible()
    shot(other, "0-counsellor-refused")

    page = contexts.new().new_page()
    page.set_viewport_size({"width": 1280, "height": 800})
    open_console(page, server, admin, on_duty=False)
    page.goto(server.base_url + PAGE)
    expect(page.get_by_text("Logged in as Ada (admin).")).to_be_visible()
    nav = page.get_by_role("navigation", name="Staff pages")
    expect(nav.get_by_role("link", name="Centre settings")).to_have_attribute(
        "aria-current", "page"
    )
    hours = page.locator("[data-part=hours]")
    expect(hours.locator("[data-source]")).to_contain_text("always open")
    shot(page, "1-loaded")

    # A mistake is shown beside its day, and nothing is stored.
    monday = page.get_by_role("group", name="Monday")
    monday.get_by_label("Opens").fill("17:00")
    monday.get_by_label("Closes").fill("09:00")
    page.get_by_role("button", name="Save opening hours").click()
    expect(monday.locator(".error")).to_contain_text("Monday: an interval must end after")
    expect(hours.locator("[data-errors]")).to_contain_text("There is a problem")
    expect(hours.locator("[data-status]")).to_have_text("Nothing was saved.")
    shot(page, "2-invalid-interval")
    monday.get_by_label("Opens").fill("00:00")
    monday.get_by_label("Closes").fill("00:00")

    # Today closed, with a helpline whose name looks like markup.
    today = datetime.now(ZoneInfo("Europe/Stockholm")).date().isoformat()
    page.get_by_role("button", name="Add a date").click()
    exception = hours.locator("[data-exceptions] > li").last
    exception.get_by_label("Date", exact=True).fill(today)
    expect(exception.get_by_role("combobox")).to_have_value("closed")
    page.get_by_role("button", name="Add a helpline").click()
    helpline = hours.locator("[data-helplines] > li").last
    helpline.get_by_label("Name").fill(XSS_NAME)
    helpline.get_by_label("Phone number").fill("020 00 00")
    page.get_by_role("button", name="Save opening hours").click()
    expect(hours.locator("[data-status]")).to_have_text("Saved: in force now (version 1).")
    expect(hours.locator("[data-source]")).to_contain_text("changed by Ada")
    expect(hours.locator("[data-source]")).to_contain_text("overrides the opening-hours file")
    expect(hours.locator("[data-errors]")).to_be_hidden()
    expect(helpline.get_by_label("Name")).to_have_value(XSS_NAME)
    shot(page, "3-today-closed")

    youth = contexts.page()
    _join(youth, server)
    status = youth.get_by_role("region", name="The chat is closed right now")
    expect(status).to_contain_text("The chat opens again")
    expect(status.locator(".helplines")).to_contain_text(XSS_NAME)  # text, not markup
    shot(youth, "4-youth-told-closed")

    # Open again: the date removed.
    hours.locator("[data-exceptions] > li").last.get_by_role(
        "button", name="Remove this date"
    ).click()
    page.get_by_role("button", name="Save opening hours").click()
    expect(hours.locator("[data-status]")).to_have_text("Saved: in force now (version 2).")

    # A topic routed to a skill queue staff have: the next ticket waits there.
    routing = page.locator("[data-part=routing]")
    topic = page.get_by_label("Threats or violence")
    expect(topic).to_have_value("")
    assert in_thread(_ticket_queue, server, "threats_violence").result() == "youth"
    new_skill = page.get_by_label("A new skill queue (a-z, 0-9 and _)")
    new_skill.fill("Not a queue!")
    page.get_by_role("button", name="Offer this queue").click()
    expect(routing.locator("[data-errors]")).to_contain_text("A skill queue is 1-32 of a-z")
    new_skill.fill("school")
    page.get_by_role("button", name="Offer this queue").click()
    expect(routing.locator("[data-errors]")).to_be_hidden()
    expect(page.get_by_label("Something else").locator("option[value=school]")).to_have_count(1)
    topic.select_option("safety_team")
    page.get_by_role("button", name="Save topic routing").click()
    expect(routing.locator("[data-status]")).to_have_text("Saved: in force now (version 1).")
    shot(page, "5-routing")
    assert in_thread(_ticket_queue, server, "threats_violence").result() == "youth/safety_team"

    # A young person waits; with the queue threshold lowered to 0 the board raises an alert.
    board = contexts.page()
    open_console(board, server, supervisor, on_duty=False)
    board.goto(server.base_url + "/staff/board")
    waiting = contexts.page()
    waiting.goto(server.base_url + "/en/chat")
    waiting.get_by_label("I am a young person").check()
    waiting.get_by_label("No", exact=True).check()
    waiting.get_by_role("button", name="Start chat").click()
    expect(waiting.locator("[data-queue-status]")).to_contain_text("in the queue")
    over = board.locator("[data-alerts] li").filter(has_text="are waiting in youth (limit")
    # (The tickets of the routing checks above wait too, until their grace runs out.)
    expect(
        board.locator("[data-queues] tbody tr").filter(has_text="youth/safety_team")
    ).to_be_visible()
    expect(over).to_have_count(0)
    alerts = page.locator("[data-part=alerts]")
    expect(page.get_by_label("Young people waiting in one queue")).to_have_value("10")
    page.get_by_label("Young people waiting in one queue").fill("0")
    page.get_by_role("button", name="Save alert thresholds").click()
    expect(alerts.locator("[data-status]")).to_have_text("Saved: in force now (version 1).")
    shot(page, "6-alerts")
    expect(over).to_contain_text("(limit 0)", timeout=3_000)
    shot(board, "7-board-alert")

    # Back to the settings: the alert clears.
    page.get_by_role("button", name="Return to the settings").click()
    expect(alerts.locator("[data-status]")).to_have_text("Returned to the file: in force now.")
    expect(page.get_by_label("Young people waiting in one queue")).to_have_value("10")
    expect(over).to_have_count(0, timeout=3_000)

    audited = in_thread(
        rows, server, "SELECT staff_id, detail FROM audit_log WHERE action = 'settings.changed'"
    ).result()
    assert [(s, json.loads(d)["name"]) for s, d in audited] == [
        (admin.staff_id, "hours"),
        (admin.staff_id, "hours"),
        (admin.staff_id, "routing"),
        (admin.staff_id, "alerts"),
        (admin.staff_id, "alerts"),
    ]
