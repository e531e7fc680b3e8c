"""A return code offered after the counsellor ended the chat (issue 12 §3): the page still
holds the keys, offers a code on the after-chat screen, files it (POST /api/youth/return-code)
and shows it once; the code then opens the chat from a fresh client. Chromium, English page,
the Python reference counsellor on the other side."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from app.client import CounsellorClient, login
from app.client.youth import YouthClient
from tests.conftest import Server, StaffAccount, _enrol_code
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import Contexts, staff_account
from tests.e2e.pages import send, start_youth_chat, wait_paired

pytestmark = pytest.mark.browser
Shot = Callable[[Any, str], None]
REPLY = "I am here and I am listening."


async def _counsellor_who_closes(server: Server, account: StaffAccount) -> str:
    """Takes the chat, waits for the young person's first message, replies, and closes it."""
    base_url = server.base_url
    credentials = await asyncio.to_thread(
        login, base_url, account.username, account.password, account.code()
    )
    code = await _enrol_code(server.database, account.staff_id)
    staff = CounsellorClient(base_url, enrol_code=code)
    await staff.connect(credentials)
    try:
        await staff.duty(True)
        conv = str((await staff.wait_assigned(timeout=30))["conv"])
        key = await staff.wait_keys(conv, timeout=30)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not any(e.role == "Y" for e in staff.envelopes) and loop.time() < deadline:
            staff.inbox.append(await staff.recv(max(0.01, deadline - loop.time())))
        await staff.send_envelope(staff.senders[conv].text_envelope(key, REPLY))
        await staff.expect("ack")
        await asyncio.sleep(1.0)  # the reply is shown before the close
        await staff.close_chat(conv)
        await staff.expect("closed", timeout=30)
        return conv
    finally:
        await staff.close()


async def _read_with(base_url: str, code: str) -> list[tuple[str, str]]:
    reader = YouthClient(base_url)
    (earlier,) = await reader.fetch_history(code)
    return earlier.messages


def test_a_code_is_offered_after_the_counsellor_ended_the_chat(
    contexts: Contexts, server: Server, in_thread: Any, shot: Shot
) -> None:
    counsellor = staff_account(server, "noor-late", "Noor", languages=["en"])
    youth = contexts.page()
    youth.set_viewport_size({"width": 360, "height": 640})
    start_youth_chat(youth, server, language="en")
    closed = in_thread(_counsellor_who_closes, server, counsellor)
    wait_paired(youth, "Noor")
    send(youth, "I need to talk to someone")
    expect(youth.get_by_text(REPLY)).to_be_visible(timeout=30_000)
    closed.result(timeout=60)

    after = youth.locator("[data-after-chat]")
    expect(after).to_be_visible(timeout=15_000)
    offer = after.locator("[data-after-late-code]")
    expect(offer).to_be_visible()
    expect(after.locator("[data-after-code-missing]")).to_be_hidden()
    shot(youth, "1-offered")
    assert_accessible(youth, "after the chat, a code offered")

    offer.get_by_role("button", name="Get a return code").click()
    value = youth.locator("[data-return-code-value]")
    expect(value).to_be_visible(timeout=30_000)  # PBKDF2 600,000 rounds in the page
    expect(offer).to_be_hidden()
    expect(after.locator("[data-after-code-taken]")).to_be_visible()
    shot(youth, "2-code-shown")
    code = value.inner_text()

    messages = in_thread(_read_with, server.base_url, code).result(timeout=60)
    assert messages == [("Y", "I need to talk to someone"), ("C", REPLY)]

    youth.get_by_role("button", name="I have written it down").click()
    expect(value).to_be_empty()
    youth.get_by_role("button", name="Start a new chat").click()
    expect(offer).to_be_hidden()
