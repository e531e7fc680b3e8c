"""Helpers shared by the socket and HTTP tests: module-wide servers, staff logins, chat set-ups.

``tests/conftest.py`` gives a fresh server per test; starting uvicorn costs about two seconds,
so the modules with many small checks share one server per database kind (``shared_server``)
and keep their tests apart by giving each its own triage language: a ticket can only be
matched to a counsellor who speaks its language, so tests on one server never take each
other's tickets.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import string
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from app.chat.envelope import Envelope, parse_envelope
from app.client import CounsellorClient, YouthClient, login
from app.client.api import Credentials
from app.security.totp import STEP_SECONDS, current_code
from tests.conftest import (
    Server,
    StaffAccount,
    _create_staff,
    _enrol_code,
    database_of,
    stack_kinds,
    start_server,
)

Client = YouthClient | CounsellorClient


# ---------------------------------------------------------------------- servers


def shared_server(kinds: tuple[str, ...] = ("sqlite", "postgresql"), **env: str) -> Any:
    """A module-scoped fixture: one real server per database kind, with ``env`` settings."""

    @pytest.fixture(scope="module", params=stack_kinds(kinds))
    def fixture(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[Server]:
        tmp = tmp_path_factory.mktemp(f"server-{request.param}")
        with database_of(request.param, tmp) as database:
            srv = start_server(database, tmp, **env)
            try:
                yield srv
            finally:
                srv.stop()

    return fixture


# ---------------------------------------------------------------------- staff


def unique_language() -> str:
    """A language code no other test uses (2-8 ASCII letters), to keep matching apart."""
    return "x" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(7))


async def new_staff(server: Server, *, alias: str = "Sara", **kw: object) -> StaffAccount:
    username = f"c{secrets.token_hex(6)}"
    return await _create_staff(server.database, username, alias, **kw)


_last_step: dict[str, int] = {}


async def next_code(account: StaffAccount) -> str:
    """A TOTP code newer than any this process used for ``account`` (codes are single-use).

    The server accepts one step of drift, so two logins can follow at once (steps s and s+1);
    a third waits for the clock.
    """
    while True:
        now_step = int(time.time()) // STEP_SECONDS
        step = max(now_step, _last_step.get(account.totp_secret, -1) + 1)
        if step <= now_step + 1:
            _last_step[account.totp_secret] = step
            return current_code(account.totp_secret, step * STEP_SECONDS)
        await asyncio.sleep(0.5)


async def staff_login(server: Server, account: StaffAccount) -> Credentials:
    code = await next_code(account)
    return await asyncio.to_thread(login, server.base_url, account.username, account.password, code)


# ---------------------------------------------------------------------- sockets


async def until(client: Client, done: Callable[[], bool], timeout: float = 10.0) -> None:
    """Receive until ``done()``; frames other than envelopes and acks are kept in ``inbox``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        frame = await client.recv(max(0.01, deadline - loop.time()))
        if frame["type"] not in ("envelope", "ack"):
            client.inbox.append(frame)


async def frames_until_closed(client: Client, timeout: float = 10.0) -> tuple[list[Any], int]:
    """Every frame the server sends until it closes the socket, and the close code."""
    assert client.ws is not None
    frames: list[Any] = list(client.inbox)
    client.inbox.clear()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while True:
            frames.append(await client.recv(max(0.01, deadline - loop.time())))
    except ConnectionClosed:
        pass
    code = client.ws.close_code
    assert code is not None
    return frames, code


async def expect_error(client: Client, code: str, timeout: float = 10.0) -> dict[str, Any]:
    frame = await client.expect("error", timeout)
    assert frame["code"] == code, frame
    return frame


@dataclass
class Chat:
    """A paired conversation with envelopes stored in a known order."""

    language: str
    account: StaffAccount
    staff: CounsellorClient
    youth: YouthClient
    conv: str
    stored: list[Envelope] = field(default_factory=list)  # in the order they were stored


class Harness:
    """Clients of one test on a (possibly shared) server; all are closed at the end."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.clients: list[Client] = []

    async def __aenter__(self) -> Harness:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for client in self.clients:
            try:
                await asyncio.wait_for(client.close(), 5)
            except (TimeoutError, OSError, ConnectionClosed):
                pass

    async def youth(self, *, e2e: bool = False) -> YouthClient:
        """A young person's client; with ``e2e`` it pins the service key and seals for real."""
        client = YouthClient(
            self.server.base_url, service_key=self.server.service_key if e2e else None
        )
        self.clients.append(client)
        await client.connect()
        return client

    async def console(
        self, account: StaffAccount, **options: Any
    ) -> tuple[CounsellorClient, dict[str, Any]]:
        credentials = await staff_login(self.server, account)
        if options.get("device") is None and "enrol_code" not in options:
            # A new device: its second factor, as staff get it (a code given is used as is).
            options["enrol_code"] = await _enrol_code(self.server.database, account.staff_id)
        client = CounsellorClient(self.server.base_url, **options)
        self.clients.append(client)
        hello = await client.connect(credentials)
        return client, hello

    async def pair(
        self, staff: CounsellorClient, language: str, youth: YouthClient | None = None
    ) -> tuple[YouthClient, str]:
        """A (new) young person joins in ``language`` and is paired with ``staff``."""
        youth = youth or await self.youth()
        await youth.join(language=language)
        paired = await youth.wait_paired()
        assigned = await staff.wait_assigned()
        assert assigned["conv"] == paired["conv"]
        return youth, paired["conv"]

    async def chat(self, *, envelopes: int = 3, capacity: int = 4) -> Chat:
        """A counsellor on duty, a paired young person, and envelopes stored both ways."""
        language = unique_language()
        account = await new_staff(self.server, languages=[language], capacity=capacity)
        staff, _ = await self.console(account)
        await staff.duty(True)
        youth, conv = await self.pair(staff, language)
        chat = Chat(language, account, staff, youth, conv)
        await exchange(chat, envelopes)
        return chat

    async def assert_unharmed(self, chat: Chat) -> None:
        """The server still serves: a new young person is paired and relayed, and ``chat``'s
        stored envelopes read back exactly (through a freshly logged-in console's ``sync``)."""
        assert self.server.alive(), self.server.log()
        youth, conv = await self.pair(chat.staff, chat.language)
        assert youth.sender is not None
        sent = youth.sender.test_envelope()
        await youth.send_envelope(sent)
        assert (await youth.expect("ack"))["seq"] == sent.seq
        await until(chat.staff, lambda: sent in chat.staff.envelopes)
        reply = chat.staff.senders[conv].test_envelope()
        await chat.staff.send_envelope(reply)
        await until(youth, lambda: reply in youth.envelopes)
        assert youth.envelopes == [reply]

        reader, hello = await self.console(chat.account)
        assert chat.conv in {c["conv"] for c in hello["conversations"]}
        assert await read_back(reader, chat.conv) == chat.stored


async def exchange(chat: Chat, n: int) -> None:
    """``n`` envelopes each way, each side's acked before the other sends: a known order."""
    assert chat.youth.sender is not None
    from_youth = [chat.youth.sender.test_envelope() for _ in range(n)]
    for envelope in from_youth:
        await chat.youth.send_envelope(envelope)
    for envelope in from_youth:
        assert (await chat.youth.expect("ack"))["seq"] == envelope.seq
    chat.stored += from_youth
    sender = chat.staff.senders[chat.conv]
    from_staff = [sender.test_envelope() for _ in range(n)]
    for envelope in from_staff:
        await chat.staff.send_envelope(envelope)
    for envelope in from_staff:
        assert (await chat.staff.expect("ack"))["seq"] == envelope.seq
    chat.stored += from_staff
    await until(chat.staff, lambda: all(e in chat.staff.envelopes for e in from_youth))
    await until(chat.youth, lambda: all(e in chat.youth.envelopes for e in from_staff))


async def read_back(console: CounsellorClient, conv: str) -> list[Envelope]:
    """Everything stored for ``conv``, in stored order: a ``sync`` that claims to have nothing."""
    await console.send({"type": "sync", "conv": conv, "have": []})
    replayed: list[Envelope] = []
    while True:
        frame = await console.recv()
        if frame["type"] == "synced" and frame["conv"] == conv:
            return replayed
        if frame["type"] == "envelope" and frame["envelope"]["conv"] == conv:
            replayed.append(parse_envelope(frame["envelope"]))
        else:
            console.inbox.append(frame)


# ---------------------------------------------------------------------- HTTP


def http_json(
    server: Server,
    method: str,
    path: str,
    body: Any = None,
    credentials: Credentials | None = None,
    *,
    csrf: bool = True,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json", "Origin": server.base_url, **(headers or {})}
    if credentials is not None:
        headers["Cookie"] = f"{credentials.cookie_name}={credentials.cookie}"
        if csrf:
            headers["X-CSRF-Token"] = credentials.csrf_token
    request = urllib.request.Request(  # noqa: S310 - the test's own server
        server.base_url + path,
        data=None if body is None else json.dumps(body).encode(),
        headers=headers,
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read() or b"{}")


async def call(*args: Any, **kw: Any) -> tuple[int, dict[str, Any]]:
    return await asyncio.to_thread(http_json, *args, **kw)
