"""Tag names that look like markup show as text (issue 11): the topics of closing and of the
statistics come from the centre's question set file, which an operator edits by hand."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import ROOT, Database, Server, start_server
from tests.e2e.conftest import EXIT_PATH, Contexts, staff_account
from tests.e2e.pages import open_console, send, start_youth_chat, wait_paired

# The pages' own behaviour (forms, wording, layout): the embedded pass is enough; the chats
# across the broker run on both stacks (tests/conftest.py).
pytestmark = pytest.mark.stack_free

PAYLOAD = '<img src=x onerror="alert(1)">Kontroll'


@pytest.fixture
def server(empty_database: Database, tmp_path: Path) -> Iterator[Server]:
    questions = json.loads((ROOT / "app/triage/data/questions.json").read_text("utf-8"))
    topic = next(q for q in questions["questions"] if q["id"] == "topic")
    control = next(o for o in topic["options"] if o["id"] == "control")
    control["label"] = {language: PAYLOAD for language in control["label"]}
    path = tmp_path / "questions.json"
    path.write_text(json.dumps(questions), "utf-8")
    srv = start_server(
        empty_database, tmp_path, VH_QUICK_EXIT_URL=EXIT_PATH, VH_TRIAGE_QUESTIONS_FILE=str(path)
    )
    try:
        yield srv
    finally:
        srv.stop()


def test_a_topic_that_looks_like_markup_is_text_when_closing_and_in_the_statistics(
    server: Server, contexts: Contexts, shot: Callable[[Any, str], None]
) -> None:
    sara = staff_account(server, "sara", "Sara")
    lena = staff_account(server, "lena", "Lena", role="supervisor")
    staff = contexts.page()
    open_console(staff, server, sara)
    youth = contexts.page()
    start_youth_chat(youth, server)
    wait_paired(youth)
    send(youth, "hej")
    panel = staff.locator("[data-chat]").first
    expect(panel.locator(".message-body")).to_have_text(["hej"])
    panel.get_by_role("button", name="Close chat").click()
    form = panel.get_by_role("group", name="Close this chat?")
    form.get_by_label("Topic").select_option(label=PAYLOAD)
    shot(staff, "1-topic-as-text-in-the-form")
    form.get_by_role("button", name="Close the chat").click()
    expect(panel.get_by_text("You closed the chat.")).to_be_visible()
    assert staff.locator("img").count() == 0

    stats = contexts.page()
    open_console(stats, server, lena, on_duty=False)
    stats.goto(server.base_url + "/staff/stats")
    topics = stats.locator('[data-table="topic"]')
    expect(topics.get_by_role("row", name=PAYLOAD)).to_contain_text("fewer than 5")
    assert stats.locator("main img").count() == 0
    shot(stats, "2-topic-as-text-in-the-statistics")
