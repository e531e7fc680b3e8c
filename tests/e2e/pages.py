"""Steps shared by the browser tests: the youth chat page and the staff console, as a person
would use them (labels and roles, not internal ids)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from playwright.sync_api import expect

from tests.conftest import Server, StaffAccount, enrol_code


def open_console(
    page: Any,
    server: Server,
    account: StaffAccount,
    *,
    on_duty: bool = True,
    code_at: float | None = None,
) -> None:
    """Log in and wait for the console socket. A second login within one TOTP step needs the
    next step's code (``code_at=time.time() + 30``): a code is accepted once."""
    page.goto(server.base_url + "/staff")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.get_by_label("6-digit code").fill(account.code(code_at))
    page.get_by_role("button", name="Log in").click()
    duty = page.get_by_role("button", name="Go on duty")
    expect(duty).to_be_visible()
    # The device keys are registered before the socket opens (PROTOCOL.md §6.2); a new device
    # asks for the account's enrolment code first.
    connected = page.get_by_role("status").filter(has_text="Connected")
    enter_enrol_code(page, server, account, connected)
    expect(connected).to_be_visible()
    if on_duty:
        expect(page.get_by_role("status").filter(has_text="Connected")).to_be_visible()
        duty.click()
        expect(page.get_by_role("button", name="Go off duty")).to_be_visible()


def enter_enrol_code(page: Any, server: Server, account: StaffAccount, done: Any) -> None:
    """If the console asks for an enrolment code (a new device) before ``done`` shows, type a
    new one of the account's, made as ``vhouse staff enrol`` makes it."""
    field = page.get_by_label("Enrolment code")
    expect(field.or_(done)).to_be_visible()
    if not field.is_visible():
        return
    with ThreadPoolExecutor(1) as pool:  # outside Playwright's event loop
        code = pool.submit(enrol_code, server.database, account.staff_id).result()
    field.fill(code)
    page.get_by_role("button", name="Set up this device").click()


def start_youth_chat(page: Any, server: Server, *, language: str = "sv") -> None:
    """Triage and queue: leaves the page waiting for a counsellor."""
    page.goto(server.base_url + "/en/chat")
    page.get_by_label("Language").select_option(language)
    page.get_by_label("I am a young person").check()
    page.get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Start chat").click()
    # A ticket comes once the socket is open and the join answered: on a loaded machine (two
    # test workers, a benchmark smoke test beside them) that can take more than 5 s.
    expect(page.locator("[data-queue-status]")).to_contain_text("in the queue", timeout=15_000)


def end_chat(page: Any, scope: Any = None) -> None:
    """ "End chat" and its confirmation in the page (English pages)."""
    where = scope if scope is not None else page
    where.get_by_role("button", name="End chat").click()
    where.get_by_role("group", name="End the chat?").get_by_role(
        "button", name="Yes, end the chat"
    ).click()


def wait_paired(page: Any, alias: str = "Sara") -> None:
    """Paired, keys sealed and the counsellor's acceptance verified: the box is open."""
    expect(page.get_by_text(f"Connected. You are talking with {alias}.")).to_be_visible()
    expect(page.get_by_role("textbox", name="Message")).to_be_enabled()


def send(page: Any, text: str, scope: Any = None) -> None:
    where = scope if scope is not None else page
    box = where.get_by_role("textbox", name="Message")
    box.fill(text)
    where.get_by_role("button", name="Send").click()


def bodies(scope: Any) -> list[str]:
    """The message texts shown in a transcript, in order."""
    texts: list[str] = scope.locator("[role=log] .message-body").all_text_contents()
    return texts


class YouthSocket:
    """The youth page's socket through Playwright's WebSocket routing: records what the page
    sends and lets a test rewrite or hold back what the server sends."""

    def __init__(self, page: Any, rewrite: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []
        self.held: list[str] = []
        self.hold_types: set[str] = set()
        #: Frame types of the page answered once each with ``unavailable`` instead of reaching
        #: the server (as a busy database answers a join or a resume).
        self.busy: set[str] = set()
        self.rewrite = rewrite
        self.route: Any = None
        page.route_web_socket(re.compile(r".*/ws/youth$"), self._connect)

    def _connect(self, route: Any) -> None:
        self.route = route
        server = route.connect_to_server()

        def from_page(message: str | bytes) -> None:
            if isinstance(message, str):
                frame = json.loads(message)
                self.sent.append(frame)
                if frame.get("type") in self.busy:
                    self.busy.discard(frame["type"])
                    busy = {"type": "error", "code": "unavailable", "message": "try again"}
                    self.received.append(busy)
                    route.send(json.dumps(busy))
                    return
            server.send(message)

        def from_server(message: str | bytes) -> None:
            if isinstance(message, str):
                frame = json.loads(message)
                self.received.append(frame)
                if frame.get("type") in self.hold_types:
                    self.held.append(message)
                    return
                if self.rewrite is not None:
                    changed = self.rewrite(frame)
                    if changed is not None:
                        message = json.dumps(changed)
            route.send(message)

        route.on_message(from_page)
        server.on_message(from_server)

    def release(self) -> None:
        self.hold_types.clear()
        held, self.held = self.held, []
        for message in held:
            self.route.send(message)

    def sent_types(self) -> list[str]:
        return [str(frame.get("type")) for frame in self.sent]


def handed_over(page: Any) -> None:
    """The console's chat left it (a transfer, back to a queue): nothing of it is shown any
    more, only a "Transferred" notice in its pane (issue 11 §1)."""
    panels = page.locator("[data-chat]")
    expect(panels.locator("[data-notice=transferred]")).to_have_count(1)
    expect(
        panels.filter(has=page.locator("[data-notice=transferred]")).locator(".message-body")
    ).to_have_count(0)
