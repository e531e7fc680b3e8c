"""The house pages in Chromium, in Swedish and in Arabic (issue 12 §2; SAFETY S-9, S-13, S-19,
S-20, S-21): every page and the 404 pass axe-core (WCAG 2.2 AA and the best-practice ``region``
rule) at 360 by 640 px without horizontal scroll, with 44 px targets; the navigation and the
language picker lead where they say; nothing is requested from another origin and nothing is left
on the device. Screenshots of every page go to the artifacts folder (``shot``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from app.pages import content
from tests.conftest import Database, Server, start_server
from tests.e2e.axe import assert_accessible, violations
from tests.e2e.conftest import EXIT_PATH, Contexts

# The pages alone (their JavaScript and layout): the embedded pass is enough (tests/conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.stack_free]

Shot = Callable[[Any, str], None]
HOURS = {
    "weekly": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu")}
    | {"fri": [["09:00", "12:00"], ["13:00", "16:00"]]},
    "helplines": [{"name": "Testlinjen", "phone": "08-123 45 67", "hours": "24/7"}],
}
TRACES = """
async () => ({
  local: localStorage.length,
  session: sessionStorage.length,
  idb: (await indexedDB.databases()).length,
  workers: (await navigator.serviceWorker.getRegistrations()).length,
  caches: (await caches.keys()).length,
  cookie: document.cookie,
})
"""
NO_TRACES = {"local": 0, "session": 0, "idb": 0, "workers": 0, "caches": 0, "cookie": ""}


@pytest.fixture
def server(empty_database: Database, tmp_path: Path) -> Iterator[Server]:
    """The e2e server (a local exit page) with real opening hours and a helpline."""
    hours_file = tmp_path / "hours.json"
    hours_file.write_text(json.dumps(HOURS), "utf-8")
    srv = start_server(
        empty_database,
        tmp_path,
        VH_QUICK_EXIT_URL=EXIT_PATH,
        VH_OPENING_HOURS_FILE=str(hours_file),
    )
    try:
        yield srv
    finally:
        srv.stop()


def _path(code: str, slug: str) -> str:
    return f"/{code}/" if slug == "start" else f"/{code}/{slug}"


#: Nothing is left out of the ``region`` check: the exit band is a <header> (a banner landmark).
OUTSIDE_THE_PAGES: list[str] = []


def _assert_region(page: Any, state: str) -> None:
    """axe's best-practice ``region`` rule: all content sits in a landmark (the helper in
    tests/e2e/axe.py runs the WCAG tags only)."""
    violations(page)  # loads axe-core into the page
    found = page.evaluate(
        """async (exclude) => {
            const context = {include: [["html"]], exclude: exclude.map((s) => [s])};
            const result = await window.axe.run(context, {
                runOnly: {type: "rule", values: ["region"]}, resultTypes: ["violations"],
            });
            return result.violations.map((v) => v.nodes.map((n) => n.target.join(" ")));
        }""",
        OUTSIDE_THE_PAGES,
    )
    assert not found, f"content outside landmarks in {state}: {found}"


def _assert_small_screen(page: Any, state: str) -> None:
    """No horizontal scroll at 360 px; every control and navigation link at least 44 px."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), state
    small = page.evaluate(
        """() => [...document.querySelectorAll(
              "nav a, a.button, a[href^='tel:'], [data-quick-exit]")]
            .map((a) => [a.textContent.trim(), a.getBoundingClientRect()])
            .filter(([, r]) => r.height < 44 || r.width < 44)
            .map(([text, r]) => `${text}: ${Math.round(r.width)}x${Math.round(r.height)}`)"""
    )
    assert small == [], f"targets under 44 px in {state}: {small}"


def _check(page: Any, code: str, state: str, shot: Shot) -> None:
    direction = "rtl" if code == "ar" else "ltr"
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == [
        code,
        direction,
    ]
    exit_link = page.locator("[data-quick-exit]")
    expect(exit_link).to_be_visible()
    assert exit_link.get_attribute("href") == EXIT_PATH
    assert_accessible(page, state)
    _assert_region(page, state)
    _assert_small_screen(page, state)
    shot(page, state)


@pytest.mark.parametrize("code", ["sv", "ar"])
def test_every_house_page_in_swedish_and_arabic(
    contexts: Contexts, server: Server, shot: Shot, code: str
) -> None:
    page = contexts.page()
    page.set_viewport_size({"width": 360, "height": 640})
    for slug in content.SLUGS:
        response = page.goto(server.base_url + _path(code, slug))
        assert response is not None
        assert response.status == 200, slug
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        _check(page, code, f"{code}-{slug}", shot)
    response = page.goto(server.base_url + f"/{code}/no-such-page")
    assert response is not None
    assert response.status == 404
    _check(page, code, f"{code}-404", shot)
    # The smallest phones: 320 px wide, still no horizontal scroll.
    page.set_viewport_size({"width": 320, "height": 568})
    for slug in content.SLUGS:
        page.goto(server.base_url + _path(code, slug))
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), slug
    # Nothing of ours is left on the device (SAFETY S-9).
    assert page.context.cookies() == []
    assert page.evaluate(TRACES) == NO_TRACES


def test_the_navigation_and_the_language_picker(contexts: Contexts, server: Server) -> None:
    page = contexts.page()
    page.goto(server.base_url + "/sv/")
    nav = page.get_by_role("navigation", name="Sidor")
    nav.get_by_role("link", name="Öppettider").click()
    expect(page).to_have_url(server.base_url + "/sv/hours")
    expect(nav.get_by_role("link", name="Öppettider")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("cell", name="09:00\u201312:00 13:00\u201316:00")).to_be_visible()
    # The same page in Arabic, right to left.
    page.get_by_role("link", name="العربية").click()
    expect(page).to_have_url(server.base_url + "/ar/hours")
    expect(page.get_by_role("heading", level=1)).to_have_text("أوقات العمل")
    page.get_by_role("navigation", name="الصفحات").get_by_role("link", name="في خطر الآن").click()
    expect(page).to_have_url(server.base_url + "/ar/urgent")
    expect(page.locator('a[href="tel:112"]').first).to_be_visible()
    expect(page.get_by_role("link", name="08-123 45 67")).to_have_attribute("href", "tel:081234567")
    # The professionals' own way in.
    page.goto(server.base_url + "/en/professionals")
    page.get_by_role("link", name="Start a consultation").click()
    expect(page).to_have_url(server.base_url + "/en/chat?for=professional")
    expect(page.get_by_label("I am a professional")).to_be_checked()
