"""Real-browser fixtures: Debian's Chromium driven by Playwright against a real uvicorn server.

The browser is never downloaded (no ``playwright install``): it is the ``chromium`` package.
Without it the tests skip outside CI and fail in CI (``tests.conftest.unavailable``).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import (
    STACK,
    Database,
    Server,
    StaffAccount,
    create_staff,
    database_of,
    start_server,
    unavailable,
)
from tests.e2e.axe import assert_accessible

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The quick exit's destination in tests: a local stub page, so no test ever leaves the machine.
EXIT_PATH = "/healthz"
#: Screenshots of page states, for people to look at (gitignored; ``VH_ARTIFACTS`` moves it).
ARTIFACTS = Path(os.environ.get("VH_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts"))


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[Database]:
    """One database per browser test, overriding the SQLite+PostgreSQL pair of tests/conftest.py:
    SQLite, or PostgreSQL (with Redis for the broker) in the scaled pass (``VH_TEST_STACK``).

    Without a stack chosen these tests run on SQLite only: they check the pages and their
    JavaScript, and running each twice in one pass would double their time. ``scripts/check``
    runs them in both passes, so the pages are used on the production topology too.
    """
    with database_of("postgresql" if STACK == "scaled" else "sqlite", tmp_path) as database:
        yield database


@pytest.fixture
def server(empty_database: Database, tmp_path: Path) -> Iterator[Server]:
    """A real server whose quick exit leads to a local stub page (``EXIT_PATH``)."""
    srv = start_server(empty_database, tmp_path, VH_QUICK_EXIT_URL=EXIT_PATH)
    try:
        yield srv
    finally:
        srv.stop()


def staff_account(server: Server, username: str, alias: str, **kw: Any) -> StaffAccount:
    """``tests.conftest.create_staff`` in a thread of its own: it calls ``asyncio.run``, which
    refuses to run in the thread where Playwright's sync API keeps its event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(create_staff, server.database, username, alias, **kw).result()


@pytest.fixture
def counsellor(server: Server) -> StaffAccount:
    return staff_account(server, "counsellor1", "Sara")


@pytest.fixture
def browser() -> Iterator[Any]:
    """Chromium for one test. Not session-scoped: while Playwright's sync API is running, its
    event loop is the thread's running loop, which would break every asyncio test after it."""
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright  # only once Chromium is known to exist

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


class Contexts:
    """Opens browser contexts and records every request that leaves our origin (SAFETY S-13)."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.browser = browser
        self.origin = urlsplit(base_url).netloc
        self.foreign: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.opened: list[Any] = []

    def _check(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme in ("data", "about", "blob"):
            return
        if parts.netloc != self.origin:
            self.foreign.append(url)

    def new(self) -> Any:
        context = self.browser.new_context(viewport={"width": 800, "height": 800})
        context.set_default_timeout(10_000)
        context.on("request", lambda request: self._check(request.url))
        context.on("page", self._watch)
        self.opened.append(context)
        return context

    def page(self) -> Any:
        context = self.new()
        return context.new_page()

    def _watch(self, page: Any) -> None:
        page.on("websocket", lambda ws: self._check(ws.url))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)

        def dialog(d: Any) -> None:  # an XSS payload that ran would open one
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)

    def _console(self, message: Any) -> None:
        # A CSP violation (an inline style, a foreign image) is reported on the console only.
        if "Content Security Policy" in message.text:
            self.errors.append(message.text)

    def close(self) -> None:
        for context in self.opened:
            context.close()


@pytest.fixture
def contexts(browser: Any, server: Server) -> Iterator[Contexts]:
    made = Contexts(browser, server.base_url)
    try:
        yield made
    finally:
        made.close()
    assert made.foreign == [], "requests to another origin"
    assert made.dialogs == [], "a dialog opened (did a payload run?)"
    assert made.errors == [], "uncaught page errors or CSP violations"


@pytest.fixture
def in_thread() -> Iterator[Callable[..., Future[Any]]]:
    """Run a coroutine function (the Python reference client) on its own loop in a thread.

    Playwright's sync API owns the test's thread, so asyncio code runs beside it.
    """
    with ThreadPoolExecutor(max_workers=2) as pool:

        def run(coro_fn: Callable[..., Any], *args: Any) -> Future[Any]:
            return pool.submit(asyncio.run, coro_fn(*args))

        yield run


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], None]:
    """Save a full-page screenshot as ``artifacts/screenshots/<test module>/<test>-<name>.png``;
    on a staff page, also run axe-core on that state (``tests.e2e.axe``)."""
    folder = ARTIFACTS / "screenshots" / request.node.module.__name__.rsplit(".", 1)[-1]
    folder.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def take(page: Any, name: str) -> None:
        page.screenshot(path=str(folder / f"{test}-{name}.png"), full_page=True)
        if urlsplit(page.url).path.startswith("/staff"):
            # Every staff page state worth a screenshot is checked against WCAG 2.2 AA too.
            assert_accessible(page, f"{test}: {name}")

    return take
