"""The exit's band and the youth pages' targets on small phones (SAFETY S-2, issue 12 §4): at
360x640 and 320x640, in Swedish and Arabic, the exit sits on a band of its own that covers no
content, at the inline end (right in Swedish, left in Arabic); no horizontal scroll; every
visible interactive element of the house and the chat's triage is at least 44x44 px."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from app.client import CounsellorClient, login
from tests.conftest import Server, StaffAccount, _enrol_code
from tests.e2e.conftest import Contexts

# The pages alone (their JavaScript and layout): the embedded pass is enough (tests/conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.stack_free]

MIN = 44

#: Every visible interactive element: its tag, how it is named, its box. A radio or checkbox is
#: measured as itself (its label, a click target for it too, is measured as well).
TARGETS = """() => {
  const selector = "a[href], button, input, select, textarea, summary, [tabindex]";
  return [...document.querySelectorAll(selector)]
    .filter((el) => el.checkVisibility({visibilityProperty: true}))
    .filter((el) => !el.closest(".visually-hidden-focusable"))
    .filter((el) => el.getAttribute("tabindex") !== "-1")
    .map((el) => {
      const box = el.getBoundingClientRect();
      return {
        what: `${el.tagName.toLowerCase()} ${el.type || ""} ${el.textContent.trim().slice(0, 30)}`,
        width: box.width, height: box.height,
      };
    });
}"""

#: The labels of radios and checkboxes: as tall as a target too.
CHOICE_LABELS = """() => [...document.querySelectorAll("input[type=radio], input[type=checkbox]")]
  .filter((el) => el.checkVisibility())
  .flatMap((el) => [...el.labels].map((label) => {
    const box = label.getBoundingClientRect();
    return {what: label.textContent.trim(), width: box.width, height: box.height};
  }))"""

#: Every visible element of the content whose box meets the band's (scrolled to the top).
UNDER_BAND = """() => {
  const band = document.querySelector(".exit-band").getBoundingClientRect();
  const content = [...document.querySelectorAll(".languages *, main *")]
    .filter((el) => el.checkVisibility());
  return content.filter((el) => {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) return false;
    return box.top < band.bottom && box.bottom > band.top
      && box.left < band.right && box.right > band.left;
  }).map((el) => el.tagName + " " + el.textContent.trim().slice(0, 30));
}"""


def _top(page: Any) -> None:
    """Scrolled to the top before a full-page screenshot, which draws the sticky band where
    the page is scrolled to."""
    page.evaluate("window.scrollTo(0, 0)")


def _open(page: Any, server: Server, lang: str, path: str) -> None:
    page.goto(f"{server.base_url}/{lang}/{path}")
    if path == "chat":
        expect(page.locator("[data-triage]")).to_be_visible()


@pytest.mark.parametrize("lang", ["sv", "ar"])
@pytest.mark.parametrize("width", [360, 320])
def test_the_band_covers_nothing_and_nothing_scrolls_sideways(
    contexts: Contexts,
    server: Server,
    lang: str,
    width: int,
    shot: Callable[[Any, str], None],
) -> None:
    page = contexts.page()
    page.set_viewport_size({"width": width, "height": 640})
    for path in ("", "chat"):
        _open(page, server, lang, path)
        where = f"{lang}/{path} at {width}px"
        sideways = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert sideways[0] <= sideways[1], f"{where}: horizontal scroll {sideways}"
        assert page.evaluate(UNDER_BAND) == [], where

        band = page.locator(".exit-band").bounding_box()
        main = page.locator("main").bounding_box()
        exit_box = page.locator("[data-quick-exit]").bounding_box()
        assert band is not None
        assert main is not None
        assert exit_box is not None
        assert band["y"] + band["height"] <= main["y"], where
        assert (band["x"], band["width"]) == (0, width), where
        # The exit inside its band, at the inline end: right in Swedish, left in Arabic.
        assert band["y"] <= exit_box["y"]
        assert exit_box["y"] + exit_box["height"] <= band["y"] + band["height"]
        if lang == "ar":
            assert exit_box["x"] + exit_box["width"] < width / 2, where
        else:
            assert exit_box["x"] > width / 2, where
        _top(page)
        shot(page, f"{path or 'house'}-{width}")

        # Scrolled to the bottom, the band is still at the top and the exit in view (S-2).
        page.keyboard.press("End")
        page.mouse.wheel(0, 10_000)
        expect(page.locator("[data-quick-exit]")).to_be_in_viewport()
        assert page.locator(".exit-band").bounding_box() == {**band, "y": 0}, where


@pytest.mark.parametrize("lang", ["sv", "ar"])
def test_every_target_on_the_house_and_the_triage_is_44_px(
    contexts: Contexts, server: Server, lang: str, shot: Callable[[Any, str], None]
) -> None:
    page = contexts.page()
    page.set_viewport_size({"width": 360, "height": 640})
    for path in ("", "chat"):
        _open(page, server, lang, path)
        if path == "chat":
            # Every part of the triage, the emergency advice and both details open.
            for summary in page.locator("summary").all():
                summary.click()
            page.locator("#danger-yes").check()
            expect(page.locator("[data-emergency]")).to_be_visible()
        targets = page.evaluate(TARGETS) + page.evaluate(CHOICE_LABELS)
        assert len(targets) >= (3 if path == "" else 12)
        small = [t for t in targets if t["width"] < MIN or t["height"] < MIN]
        assert small == [], f"{lang}/{path}: targets under {MIN}x{MIN} px: {small}"
        _top(page)
        shot(page, f"{path or 'house'}-targets")

    # The skip link, shown when focused, is a target like the others.
    _open(page, server, lang, "")
    page.keyboard.press("Tab")
    skip = page.locator("[data-quick-exit-skip]")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None
    assert box["width"] >= MIN
    assert box["height"] >= MIN
    _top(page)
    shot(page, "skip-link-focused")


async def _counsellor_takes_the_chat(server: Server, account: StaffAccount) -> None:
    """A Python counsellor on duty who takes the chat and stays until it ends."""
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
        await staff.expect("closed", timeout=30)
    finally:
        await staff.close()


def _small_targets(page: Any) -> list[dict[str, Any]]:
    targets = page.evaluate(TARGETS) + page.evaluate(CHOICE_LABELS)
    return [t for t in targets if t["width"] < MIN or t["height"] < MIN]


@pytest.mark.parametrize("lang", ["sv", "ar"])
def test_every_target_while_waiting_and_chatting_is_44_px(
    contexts: Contexts,
    server: Server,
    counsellor: StaffAccount,
    in_thread: Callable[..., Any],
    lang: str,
    shot: Callable[[Any, str], None],
) -> None:
    page = contexts.page()
    page.set_viewport_size({"width": 320, "height": 640})
    _open(page, server, lang, "chat")
    page.locator("#triage-language").select_option("sv")  # the counsellor's language
    page.locator("#kind-youth").check()
    page.locator("#danger-no").check()
    page.locator("[data-triage] button[type=submit]").click()
    expect(page.locator("[data-queue]")).to_be_visible()
    assert _small_targets(page) == [], f"{lang}: waiting"
    _top(page)
    shot(page, "waiting-targets")

    in_thread(_counsellor_takes_the_chat, server, counsellor)
    expect(page.locator("[data-conversation]")).to_be_visible(timeout=20_000)
    expect(page.locator("#message")).to_be_enabled(timeout=20_000)
    assert _small_targets(page) == [], f"{lang}: chatting"
    sideways = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert sideways[0] <= sideways[1], f"{lang}: horizontal scroll while chatting"
    _top(page)
    shot(page, "chatting-targets")
    page.locator("[data-quick-exit]").click()
