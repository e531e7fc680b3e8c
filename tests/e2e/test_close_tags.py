"""Closing a chat with categories in the console (issue 11): asked first, tags chosen, and the
tags show in the anonymous statistics (never with the chat). Screenshots go to
``artifacts/screenshots``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import ROOT, Server, StaffAccount
from tests.e2e.conftest import Contexts
from tests.e2e.pages import open_console, send, start_youth_chat, wait_paired

# The pages' own behaviour (forms, wording, layout): the embedded pass is enough; the chats
# across the broker run on both stacks (tests/conftest.py).
pytestmark = pytest.mark.stack_free


def _tags_export(server: Server) -> list[dict[str, Any]]:
    env = {**os.environ, "VH_MODE": "test", "VH_DATABASE_URL": server.database.url}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "stats", "tags", "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


def test_closing_asks_and_counts_the_categories(
    server: Server, counsellor: StaffAccount, contexts: Contexts, shot: Callable[[Any, str], None]
) -> None:
    staff = contexts.page()
    open_console(staff, server, counsellor)
    youth = contexts.page()
    start_youth_chat(youth, server)
    wait_paired(youth)
    send(youth, "hej")
    panel = staff.locator("[data-chat]").first
    expect(panel.locator(".message-body")).to_have_text(["hej"])

    panel.get_by_role("button", name="Close chat").click()
    form = panel.get_by_role("group", name="Close this chat?")
    expect(form).to_be_visible()
    expect(form.get_by_label("Topic")).to_be_focused()
    form.get_by_label("Topic").select_option("forced_marriage")
    form.get_by_label("Outcome").select_option("referred")
    form.get_by_label("Social services").check()
    form.get_by_label("School").check()
    shot(staff, "close-1-asked")
    form.get_by_role("button", name="Close the chat").click()
    expect(youth.get_by_text("Sara ended the chat.")).to_be_visible()
    expect(panel.get_by_text("You closed the chat.")).to_be_visible()
    shot(staff, "close-2-closed")

    cells = _tags_export(server)
    counted = {(c["dimension"], c["value"]) for c in cells}
    assert counted == {
        ("topic", "forced_marriage"),
        ("outcome", "referred"),
        ("referral", "social_services"),
        ("referral", "school"),
    }
    assert all(c["count"] is None for c in cells)  # one chat: under 5, suppressed
    assert all(set(c) == {"day", "queue", "dimension", "value", "count"} for c in cells)
