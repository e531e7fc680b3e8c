"""The quick exit's shortcuts in Chromium (SAFETY S-7, issue 12 §4): only a lone Shift counts,
three within 5 s of the first leave, a count that runs out says so, Escape twice within 1 s
leaves; the presses show as dots and are announced in the page's language, and so is the
overlay shown on leaving. Timing runs on Playwright's fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from app.client import CounsellorClient, login
from tests.conftest import Server, StaffAccount, _enrol_code
from tests.e2e.conftest import EXIT_PATH, Contexts
from tests.e2e.pages import start_youth_chat, wait_paired

# The pages alone (their JavaScript and layout): the embedded pass is enough (tests/conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.stack_free]

START = datetime(2026, 12, 1, 12, 0, 0)

#: Everything the status region ever says and every change of the dots, as it happens.
RECORD = """() => {
  window.vhSaid = [];
  window.vhDots = [];
  const status = document.querySelector("[data-quick-exit-status]");
  new MutationObserver(() => window.vhSaid.push(status.textContent))
    .observe(status, {childList: true, characterData: true, subtree: true});
  const dots = document.querySelector("[data-quick-exit-dots]");
  new MutationObserver(() => window.vhDots.push(dots.querySelectorAll(".exit-dot-on").length))
    .observe(dots, {attributes: true, subtree: true});
}"""

ANNOUNCED = {
    "sv": (
        "Du har tryckt på Shift 1 av 3 gånger. Tryck 2 gånger till för att lämna.",
        "Du har tryckt på Shift 2 av 3 gånger. Tryck en gång till för att lämna.",
        "Avbrutet: du tryckte inte på Shift 3 gånger inom 5 sekunder.",
        "Laddar…",
    ),
    "ar": (
        "ضغطت على Shift مرة واحدة من ثلاث. اضغط عليه مرتين أخريين للمغادرة.",
        "ضغطت على Shift مرتين من ثلاث. اضغط عليه مرة أخرى للمغادرة.",
        "أُلغي الخروج: لم تضغط على Shift ثلاث مرات خلال خمس ثوانٍ.",
        "جارٍ التحميل…",
    ),
}


def _lit(page: Any) -> int:
    count: int = page.locator("[data-quick-exit-dots] .exit-dot-on").count()
    return count


def _on_fake_clock(page: Any) -> None:
    page.clock.install(time=START)


def _pause(page: Any) -> None:
    """Stop the fake clock a moment after the page's now: from here only ``run_for`` moves it."""
    page.clock.pause_at(page.evaluate("Date.now()") + 500)


async def _counsellor_takes_the_chat(server: Server, account: StaffAccount) -> dict[str, Any]:
    """A Python counsellor on duty who takes the chat and returns the ``closed`` frame."""
    credentials = await asyncio.to_thread(
        login, server.base_url, account.username, account.password, account.code()
    )
    staff = CounsellorClient(
        server.base_url, enrol_code=await _enrol_code(server.database, account.staff_id)
    )
    await staff.connect(credentials)
    try:
        await staff.duty(True)
        await staff.wait_assigned(timeout=20)
        return await staff.expect("closed", timeout=30)
    finally:
        await staff.close()


def test_typing_capitals_in_the_message_box_neither_exits_nor_announces(
    contexts: Contexts,
    server: Server,
    counsellor: StaffAccount,
    in_thread: Callable[..., Any],
    shot: Callable[[Any, str], None],
) -> None:
    closed = in_thread(_counsellor_takes_the_chat, server, counsellor)
    page = contexts.page()
    start_youth_chat(page, server)
    wait_paired(page)
    page.evaluate(RECORD)
    box = page.get_by_role("textbox", name="Message")
    box.click()
    # "HEJ" as a person types it: Shift down, the letter down and up, Shift up, three times,
    # which is three Shift presses and releases; then a capital typed with Shift released first.
    for letter in "HEJ":
        page.keyboard.down("Shift")
        page.keyboard.press(letter)
        page.keyboard.up("Shift")
    page.keyboard.down("Shift")
    page.keyboard.down("A")
    page.keyboard.up("Shift")
    page.keyboard.up("A")
    # Shift+Tab and Shift+click are not lone presses either.
    page.keyboard.press("Shift+Tab")
    page.keyboard.down("Shift")
    box.click()
    page.keyboard.up("Shift")
    expect(box).to_have_value("HEJA")
    page.wait_for_timeout(300)
    assert page.url == server.base_url + "/en/chat"
    assert page.evaluate("window.vhSaid") == []
    assert page.evaluate("window.vhDots") == []
    assert _lit(page) == 0
    shot(page, "after-typing-HEJ")

    # Lone presses in the same box: counted, shown, announced, and the third one leaves.
    status = page.locator("[data-quick-exit-status]")
    page.keyboard.press("Shift")
    expect(status).to_have_text("Shift pressed 1 of 3 times. Press it 2 more times to leave.")
    assert _lit(page) == 1
    page.keyboard.press("Shift")
    expect(status).to_have_text("Shift pressed 2 of 3 times. Press it once more to leave.")
    assert _lit(page) == 2
    assert page.locator("[data-quick-exit-dots]").get_attribute("aria-hidden") == "true"
    shot(page, "two-presses")
    page.keyboard.press("Shift")
    page.wait_for_url(server.base_url + EXIT_PATH)
    frame = closed.result(timeout=20)
    assert (frame["by"], frame["reason"]) == ("youth", "left")


@pytest.mark.parametrize("lang", ["sv", "ar"])
def test_three_lone_presses_within_five_seconds_leave(
    contexts: Contexts, server: Server, lang: str, shot: Callable[[Any, str], None]
) -> None:
    page = contexts.page()
    _on_fake_clock(page)
    page.goto(f"{server.base_url}/{lang}/")
    _pause(page)
    page.evaluate(RECORD)
    first, second, _expired, _loading = ANNOUNCED[lang]
    status = page.locator("[data-quick-exit-status]")
    history = page.evaluate("history.length")

    page.keyboard.press("Shift")
    expect(status).to_have_text(first)
    assert _lit(page) == 1
    shot(page, "one-press")
    page.clock.run_for(2400)
    page.keyboard.press("Shift")
    expect(status).to_have_text(second)
    assert _lit(page) == 2
    page.clock.run_for(2500)  # 4.9 s after the first press
    page.keyboard.press("Shift")
    page.wait_for_url(server.base_url + EXIT_PATH)
    assert page.evaluate("history.length") == history


@pytest.mark.parametrize("lang", ["sv", "ar"])
def test_presses_5_1_seconds_apart_never_leave_and_the_count_runs_out_aloud(
    contexts: Contexts, server: Server, lang: str, shot: Callable[[Any, str], None]
) -> None:
    page = contexts.page()
    _on_fake_clock(page)
    page.goto(f"{server.base_url}/{lang}/chat")
    _pause(page)
    page.evaluate(RECORD)
    first, _second, expired, _loading = ANNOUNCED[lang]
    status = page.locator("[data-quick-exit-status]")
    for _ in range(4):
        page.keyboard.press("Shift")
        expect(status).to_have_text(first)
        assert _lit(page) == 1
        page.clock.run_for(5100)
        expect(status).to_have_text(expired)
        assert _lit(page) == 0
    shot(page, "count-ran-out")
    assert page.url == f"{server.base_url}/{lang}/chat"
    # Two presses, then the count runs out 5 s after the first: a third press starts again.
    page.keyboard.press("Shift")
    page.clock.run_for(4000)
    page.keyboard.press("Shift")
    page.clock.run_for(1100)
    expect(status).to_have_text(expired)
    page.keyboard.press("Shift")
    expect(status).to_have_text(first)
    page.wait_for_timeout(200)
    assert page.url == f"{server.base_url}/{lang}/chat"
    said = page.evaluate("window.vhSaid")
    assert set(said) <= {first, ANNOUNCED[lang][1], expired}


def test_another_key_starts_the_count_again_quietly(contexts: Contexts, server: Server) -> None:
    page = contexts.page()
    _on_fake_clock(page)
    page.goto(server.base_url + "/sv/")
    _pause(page)
    status = page.locator("[data-quick-exit-status]")
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    assert _lit(page) == 2
    page.keyboard.press("a")
    expect(status).to_have_text("")
    assert _lit(page) == 0
    # No "cancelled" later for a count that a key already ended.
    page.clock.run_for(6000)
    expect(status).to_have_text("")
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    page.wait_for_url(server.base_url + EXIT_PATH)


def test_escape_twice_within_one_second_leaves(contexts: Contexts, server: Server) -> None:
    page = contexts.page()
    _on_fake_clock(page)
    page.goto(server.base_url + "/ar/chat")
    _pause(page)
    page.keyboard.press("Escape")
    page.clock.run_for(1100)
    page.keyboard.press("Escape")
    page.wait_for_timeout(200)
    assert page.url == server.base_url + "/ar/chat"
    page.clock.run_for(900)
    page.keyboard.press("Escape")
    page.wait_for_url(server.base_url + EXIT_PATH)


@pytest.mark.parametrize("lang", ["sv", "ar"])
def test_the_overlay_on_leaving_is_an_alert_in_the_pages_language(
    contexts: Contexts, server: Server, lang: str
) -> None:
    page = contexts.page()
    page.goto(f"{server.base_url}/{lang}/chat")
    # What the page shows right after the exit's click handler, in the same click dispatch.
    seen: list[dict[str, Any]] = []
    page.expose_function("vhReport", lambda state: seen.append(state))
    page.evaluate(
        """() => document.addEventListener("click", () => {
          const overlay = document.querySelector(".exit-overlay");
          window.vhReport({
            role: overlay && overlay.getAttribute("role"),
            text: overlay && overlay.textContent,
            title: document.title,
            main: document.querySelector("main").childElementCount,
          });
        })"""
    )
    page.locator("[data-quick-exit]").click()
    page.wait_for_url(server.base_url + EXIT_PATH)
    title = {"sv": "Information", "ar": "معلومات"}[lang]
    assert seen == [{"role": "alert", "text": ANNOUNCED[lang][3], "title": title, "main": 0}]
