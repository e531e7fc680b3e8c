"""A join or a resume that a busy database refuses (``unavailable``: nothing was stored) is sent
again by the youth page on the same socket, after a backoff, instead of leaving the young person
at "Something went wrong" with no way on (a restart's burst of reconnects; app/writeturns.py).
The refusals are made by Playwright's WebSocket routing (``YouthSocket.busy``), in the real page
against a real server."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import Server, StaffAccount
from tests.e2e.conftest import Contexts
from tests.e2e.pages import YouthSocket, open_console, send, start_youth_chat, wait_paired

pytestmark = pytest.mark.browser


def test_a_refused_join_and_a_refused_resume_are_asked_again(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    staff = contexts.page()
    open_console(staff, server, counsellor)
    youth = contexts.page()
    socket = YouthSocket(youth)
    socket.busy = {"join"}
    start_youth_chat(youth, server)
    wait_paired(youth)
    assert socket.sent_types().count("join") == 2  # refused once, then asked again
    panel = staff.locator("[data-chat]")
    expect(panel).to_have_count(1)  # one ticket, one chat: the refused join stored nothing

    socket.busy = {"resume"}
    socket.route.close(code=1012, reason="restarting")
    expect(youth.get_by_role("textbox", name="Message")).to_be_enabled()
    send(youth, "Är du kvar?")
    expect(panel.locator(".message-body")).to_have_text(["Är du kvar?"])
    assert socket.sent_types().count("resume") == 2
    received = [f for f in socket.received if f.get("type") == "resumed"]
    assert len(received) == 1
    expect(youth.get_by_text("Something went wrong")).to_have_count(0)
