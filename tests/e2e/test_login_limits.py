"""The staff console's login under the login limits (issue 13 (2)), in Chromium on a real
server: too many attempts from one address and a busy service each say what
happened, as text, and a login goes through once the limits allow it."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import Server, database_of, start_server
from tests.e2e.conftest import Contexts, staff_account

# The pages' own behaviour (forms, wording, layout): the embedded pass is enough; the chats
# across the broker run on both stacks (tests/conftest.py).
pytestmark = pytest.mark.stack_free


def _server(tmp_path: Path, **env: str) -> Iterator[Server]:
    with database_of("sqlite", tmp_path) as database:
        srv = start_server(database, tmp_path, **env)
        try:
            yield srv
        finally:
            srv.stop()


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """``request.param``: the login settings of this test's server."""
    yield from _server(tmp_path, **getattr(request, "param", {}))


def _try(page: Any, username: str, password: str, code: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("6-digit code").fill(code)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize("server", [{"VH_LOGIN_ATTEMPTS_PER_MINUTE": "3"}], indirect=True)
def test_the_console_says_when_an_address_is_over_its_login_limit(
    contexts: Contexts, server: Server, shot: Callable[[Any, str], None]
) -> None:
    account = staff_account(server, "counsellor1", "Sara")
    page = contexts.page()
    page.goto(server.base_url + "/staff")
    alert = page.locator("[data-login-error]")
    for _ in range(3):
        _try(page, account.username, "not the password 1", account.code())
        expect(alert).to_have_text("Wrong username, password or code.")
    shot(page, "wrong")
    # The fourth attempt this minute from this browser's address: refused before any check.
    _try(page, account.username, account.password, account.code())
    expect(alert).to_have_text("Too many attempts. Try again later.")
    expect(page.get_by_role("button", name="Go on duty")).to_be_hidden()
    shot(page, "rate-limited")


@pytest.mark.parametrize(
    "server",
    [{"VH_LOGIN_QUEUE_MAX": "1", "VH_LOGIN_HASH_CONCURRENCY": "1"}],
    indirect=True,
)
def test_the_console_says_when_the_service_is_busy_with_logins(
    contexts: Contexts, server: Server, shot: Callable[[Any, str], None]
) -> None:
    """Another client keeps the one login slot taken: the console is told at once that the
    service is busy (503 ``login_busy``), not "wrong password"; when the flood stops, the same
    form logs in."""
    account = staff_account(server, "counsellor1", "Sara")
    stop = threading.Event()

    def flood() -> None:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            while not stop.is_set():
                body = {"username": secrets.token_hex(4), "password": "x" * 12, "totp": "1"}
                client.post("/staff/api/login", json=body, headers={"Origin": server.base_url})

    floods = [threading.Thread(target=flood) for _ in range(4)]
    for thread in floods:
        thread.start()
    page = contexts.page()
    page.goto(server.base_url + "/staff")
    alert = page.locator("[data-login-error]")
    try:
        for _ in range(20):
            _try(page, "someone", "not the password 1", "123456")
            expect(alert).not_to_have_text("")
            if alert.text_content() == "The service is busy. Try again in a moment.":
                break
        expect(alert).to_have_text("The service is busy. Try again in a moment.")
        shot(page, "busy")
    finally:
        stop.set()
        for thread in floods:
            thread.join()
    _try(page, account.username, account.password, account.code())
    expect(page.get_by_role("button", name="Go on duty")).to_be_visible()
    shot(page, "logged-in")
