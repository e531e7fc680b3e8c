"""The door of the youth chat (issue 4 item 4): an honest wait, and refusals that name 112 and
the other helplines instead of a silent queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import Database, Server, start_server
from tests.e2e.conftest import EXIT_PATH, Contexts
from tests.e2e.pages import start_youth_chat

# The pages' own behaviour (forms, wording, layout): the embedded pass is enough; the chats
# across the broker run on both stacks (tests/conftest.py).
pytestmark = pytest.mark.stack_free

HELPLINES = [
    {"name": "BRIS <b>for young people</b>", "phone": "116 111", "hours": "24/7"},
    {"name": "Bad number", "phone": "javascript:alert(1)", "hours": ""},
]


def _door(database: Database, tmp_path: Path, weekly: dict[str, Any]) -> Server:
    hours = tmp_path / "opening-hours.json"
    hours.write_text(
        json.dumps({"timezone": "Europe/Stockholm", "weekly": weekly, "helplines": HELPLINES}),
        "utf-8",
    )
    return start_server(
        database,
        tmp_path,
        VH_QUICK_EXIT_URL=EXIT_PATH,
        VH_OPENING_HOURS_FILE=str(hours),
        VH_REFUSE_WHEN_UNSTAFFED="true",
    )


@pytest.fixture
def server(
    request: pytest.FixtureRequest, empty_database: Database, tmp_path: Path
) -> Iterator[Server]:
    """The module's server: the default test server, or a door with opening hours and a
    helpline list that refuses joins while nobody is on duty (``open`` or ``closed``)."""
    door = getattr(request, "param", "default")
    if door == "default":
        srv = start_server(empty_database, tmp_path, VH_QUICK_EXIT_URL=EXIT_PATH)
    else:
        days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        # "closed": open one minute a day (a run inside that minute is a 1 in 1,440 chance).
        hours = [["00:00", "24:00"]] if door == "open" else [["03:00", "03:01"]]
        weekly = {day: hours for day in days}
        srv = _door(empty_database, tmp_path, weekly)
    try:
        yield srv
    finally:
        srv.stop()


def _join(page: Any, server: Server) -> None:
    page.goto(server.base_url + "/en/chat")
    page.get_by_label("I am a young person").check()
    page.get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Start chat").click()


@pytest.mark.parametrize("server", ["open"], indirect=True)
def test_nobody_on_duty_is_said_with_112_and_the_helplines(
    contexts: Contexts, server: Server
) -> None:
    page = contexts.page()
    _join(page, server)
    status = page.get_by_role("region", name="No counsellor is on duty right now")
    heading = status.get_by_role("heading", level=2)
    expect(heading).to_have_text("No counsellor is on duty right now")
    expect(status.get_by_role("link", name="112")).to_have_attribute("href", "tel:112")
    helplines = status.locator(".helplines")
    expect(helplines).to_be_visible()
    items = helplines.get_by_role("listitem")
    expect(items).to_have_count(2)
    # Text only: the configured name is not markup, and only a phone-like number is a link.
    expect(items.nth(0)).to_have_text("BRIS <b>for young people</b>: 116 111 (24/7)")
    expect(items.nth(0).get_by_role("link")).to_have_attribute("href", "tel:116111")
    expect(items.nth(1).get_by_role("link")).to_have_count(0)
    assert helplines.locator("b").count() == 0
    expect(page.get_by_role("button", name="Stop waiting")).to_be_hidden()


@pytest.mark.parametrize("server", ["closed"], indirect=True)
def test_closed_hours_say_when_the_chat_opens(contexts: Contexts, server: Server) -> None:
    page = contexts.page()
    _join(page, server)
    status = page.get_by_role("region", name="The chat is closed right now")
    expect(status.get_by_role("heading", level=2)).to_have_text("The chat is closed right now")
    expect(status).to_contain_text("The chat opens again")  # the next opening, local time
    expect(status.locator(".helplines").get_by_role("listitem")).to_have_count(2)


def test_the_queue_shows_an_honest_wait(contexts: Contexts, server: Server) -> None:
    page = contexts.page()
    start_youth_chat(page, server)
    # No chats have ended yet: no estimate can be honest, and the page says so.
    expect(page.locator("[data-queue-estimate]")).to_have_text(
        "We cannot estimate the wait right now."
    )
