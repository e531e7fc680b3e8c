"""The return visit in Chromium checks the device certificate at the time the device signed
into its acceptance (issue 13 (6), PROTOCOL.md §6.3, §6.5): a chat made by the reference clients
on a real server, read back on the real youth page with its return code. Read long after the
certificate expired it is trusted (it was valid when signed); an acceptance signed after the
certificate expired is flagged although the server claims a ``sealed_at`` inside the window; an
untimed acceptance is shown with its time marked as unverified."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from app.crypto import certs
from app.kit import b64
from tests.chat.test_signed_time import _chat_with_code, _rewrite
from tests.conftest import Server
from tests.support import Harness

# The pages' own behaviour (forms, wording, layout): the embedded pass is enough; the chats
# across the broker run on both stacks (tests/conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.stack_free]

NOT_ACCEPTED = "could not be checked as accepted by a counsellor of the centre"
UNTIMED = "so when it took place could not be checked"


async def _made(server: Server) -> tuple[Any, str, str, bytes]:
    async with Harness(server) as h:
        staff, conv, code, key = await _chat_with_code(h)
        return staff.device, conv, code, key


def _read_back(page: Any, server: Server, code: str, at: float | None = None) -> Any:
    if at is not None:  # the page's clock only: Date.now(), timers run on
        page.clock.set_fixed_time(datetime.datetime.fromtimestamp(at, datetime.UTC))
    page.goto(server.base_url + "/en/chat")
    page.get_by_text("I have a return code").click()
    page.get_by_role("textbox", name="Return code").fill(code)
    page.get_by_role("button", name="Show my earlier chat").click()
    history = page.locator("[data-return-history]")
    expect(history.locator(".message-body")).to_have_text(["hej"], timeout=20_000)
    return history


def test_the_page_checks_the_certificate_at_the_signed_time(
    server: Server, contexts: Any, in_thread: Any, shot: Any
) -> None:
    """R-25: The page checks the certificate at the signed time, not the server's sealed_at."""
    device, conv, code, key = in_thread(_made, server).result()
    not_after = device.not_after

    # A month after the certificate expired: still valid at the time the device signed.
    history = _read_back(contexts.page(), server, code, at=not_after + 30 * 86400)
    expect(history.get_by_text(NOT_ACCEPTED)).to_have_count(0)
    expect(history.get_by_text(UNTIMED)).to_have_count(0)

    # Signed after the certificate expired; the server claims a time well inside the window.
    late = certs.sign_acceptance(device.sig_key, b64.decode(conv), 0, key, signed_at=not_after + 5)
    in_thread(_rewrite, server, conv, late, not_after + 5, not_after - 3600).result()
    history = _read_back(contexts.page(), server, code, at=not_after + 30 * 86400)
    expect(history.get_by_text(NOT_ACCEPTED)).to_be_visible()
    # Nor does moving the stored time into the window help: the signature binds it.
    in_thread(_rewrite, server, conv, late, not_after - 3600, not_after - 3600).result()
    history = _read_back(contexts.page(), server, code, at=not_after + 30 * 86400)
    expect(history.get_by_text(NOT_ACCEPTED)).to_be_visible()

    # An untimed acceptance (an older console): shown, with its time said to be unverified.
    untimed = certs.sign_acceptance(device.sig_key, b64.decode(conv), 0, key)
    in_thread(_rewrite, server, conv, untimed, None, not_after - 3600).result()
    page = contexts.page()
    history = _read_back(page, server, code)
    expect(history.get_by_text(UNTIMED)).to_be_visible()
    expect(history.get_by_text(NOT_ACCEPTED)).to_have_count(0)
    shot(page, "return-visit-time-unverified")
