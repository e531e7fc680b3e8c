"""A real server process ended mid-chat and started again on the same database (R-20).

A young person and a counsellor (the Python clients, sealing for real) chat through a
``vhouse serve`` process; each has a burst of messages in flight, some acknowledged and some
not, when the process gets SIGTERM (a deploy: both sockets must close with 1012 "service
restart") or SIGKILL (a crash: the TCP connections just drop). A new process starts on the same
port, database, service key and key directory while the clients reconnect with jittered backoff;
the counsellor's session and device hold, the young person resumes with the ticket, both sync
and send again what was not acknowledged. In the end each side has read every message of the
other exactly once and in order, the database holds every message once, and nothing that was
acknowledged before the process ended is missing.
"""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from app.chat.envelope import Envelope
from app.client import CounsellorClient, YouthClient
from app.client.envelopes import open_text
from tests.conftest import Database, Server, StaffAccount, restart_server, start_server
from tests.support import (
    Harness,
    frames_until_closed,
    new_staff,
    read_back,
    unique_language,
    until,
)

T = TypeVar("T")

#: Close codes: 1012 "service restart" (RFC 6455 registry), 1006 "no close frame" (a crash).
SERVICE_RESTART, ABNORMAL = 1012, 1006
#: Messages each side writes at most while the process ends.
WRITE_AT_MOST = 400


async def reconnect(attempt: Callable[[], Awaitable[T]], within: float = 30.0) -> T:
    """``attempt()`` until it succeeds, waiting a random part of a doubling delay in between
    (jittered exponential backoff, as the pages do): refused while no process listens."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    delay = 0.1
    while True:
        try:
            return await attempt()
        except (OSError, InvalidHandshake, TimeoutError):
            if loop.time() > deadline:
                raise
            await asyncio.sleep(random.uniform(delay / 2, delay))
            delay = min(delay * 2, 2.0)


class Sides:
    """The two clients of one chat and the texts each sent, in the order sent."""

    def __init__(
        self,
        account: StaffAccount,
        youth: YouthClient,
        staff: CounsellorClient,
        conv: str,
        key: bytes,
    ) -> None:
        self.account = account
        self.youth, self.staff, self.conv, self.key = youth, staff, conv, key
        self.sent: dict[str, list[str]] = {"Y": [], "C": []}
        self.envelopes: dict[str, list[Envelope]] = {"Y": [], "C": []}

    async def send(self, role: str, n: int, label: str) -> None:
        """``n`` texts from ``role``, without waiting for their acks."""
        client = self.youth if role == "Y" else self.staff
        sender = self.youth.sender if role == "Y" else self.staff.senders[self.conv]
        assert sender is not None
        for _ in range(n):
            text = f"{label} {role} {len(self.sent[role]) + 1}"
            envelope = sender.text_envelope(self.key, text)
            self.sent[role].append(text)
            self.envelopes[role].append(envelope)
            await client.send_envelope(envelope)

    def acked(self, role: str) -> list[Envelope]:
        client = self.youth if role == "Y" else self.staff
        return [e for e in self.envelopes[role] if client.is_acked(e)]

    def read_by(self, client: YouthClient | CounsellorClient, role: str) -> list[str]:
        """The texts of ``role`` that ``client`` received, in the order it received them."""
        return [open_text(self.key, e) for e in client.envelopes if e.role == role]

    async def settle(self, timeout: float = 20.0) -> None:
        """Until both sides' envelopes are all acknowledged and all read by the other side."""
        await asyncio.gather(
            until(self.youth, lambda: not self.youth.unacked, timeout),
            until(self.staff, lambda: not self.staff.unacked, timeout),
        )
        await asyncio.gather(
            until(self.staff, lambda: len(self.read_by(self.staff, "Y")) >= len(self.sent["Y"])),
            until(self.youth, lambda: len(self.read_by(self.youth, "C")) >= len(self.sent["C"])),
        )


async def _chat(h: Harness) -> Sides:
    language = unique_language()
    account = await new_staff(h.server, languages=[language])
    staff, _ = await h.console(account)
    await staff.duty(True)
    youth = await h.youth(e2e=True)
    await youth.join(language=language)
    conv = str((await youth.wait_paired())["conv"])
    key, _ = await asyncio.gather(staff.wait_keys(conv), youth.wait_connected())
    return Sides(account, youth, staff, conv, key)


async def _keep_writing(sides: Sides, role: str) -> None:
    """Write a message every few milliseconds until a send fails on the closed socket: that one,
    typed while the connection is down, stays unacknowledged, as do those the server never
    answered; all are sent again after the reconnect."""
    while len(sides.sent[role]) < 3 + WRITE_AT_MOST:
        try:
            await sides.send(role, 1, "during")
        except ConnectionClosed:
            return
        await asyncio.sleep(0.002)
    raise AssertionError("the socket never closed")


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
async def test_a_restart_mid_chat_loses_and_doubles_nothing(
    empty_database: Database, tmp_path: Path, how: str
) -> None:
    """R-20: SIGTERM closes both sockets with 1012 (SIGKILL just drops them); after a restart
    on the same database the clients reconnect with jittered backoff and resume: every message
    read once and in order on the other side, stored once, nothing acknowledged lost."""
    server = start_server(empty_database, tmp_path)
    restarted: Server | None = None
    try:
        async with Harness(server) as h:
            sides = await _chat(h)
            youth, staff, conv = sides.youth, sides.staff, sides.conv
            await sides.send("Y", 3, "before")
            await sides.send("C", 3, "before")
            await sides.settle()

            # Both sides keep writing while the process ends: some of what they wrote is
            # acknowledged, the rest is in flight (read or not by the server) when it goes.
            writers = [asyncio.create_task(_keep_writing(sides, role)) for role in ("Y", "C")]
            readers = [
                asyncio.create_task(frames_until_closed(client, 30)) for client in (youth, staff)
            ]
            while min(len(sides.acked("Y")), len(sides.acked("C"))) < 3 + 5:
                await asyncio.sleep(0.01)
            server.process.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
            (_, youth_code), (_, staff_code) = await asyncio.gather(*readers)
            await asyncio.gather(*writers)
            returncode = await asyncio.to_thread(server.process.wait, 20)
            acked_before = {role: sides.acked(role) for role in ("Y", "C")}
            for role, acked in acked_before.items():
                assert 3 + 5 <= len(acked) < len(sides.sent[role])  # some in flight
            if how == "sigterm":
                assert (youth_code, staff_code) == (SERVICE_RESTART, SERVICE_RESTART)
                # uvicorn re-raises the signal it caught once it has shut down cleanly.
                assert returncode in (0, -signal.SIGTERM), server.log()
                assert "Traceback" not in server.log(), server.log()
            else:
                assert (youth_code, staff_code) == (ABNORMAL, ABNORMAL)
                assert returncode == -signal.SIGKILL

            # A new process on the same port while both clients keep trying to come back.
            assert staff.credentials is not None
            credentials = staff.credentials
            starting = asyncio.create_task(asyncio.to_thread(restart_server, server))

            async def youth_back() -> None:
                await youth.connect()
                await youth.resume()

            _, hello = await asyncio.gather(
                reconnect(youth_back), reconnect(lambda: staff.connect(credentials))
            )
            restarted = await starting
            h.server = restarted
            assert hello["on_duty"] is True
            assert conv in {c["conv"] for c in hello["conversations"]}
            await staff.sync(conv)  # replays what it missed, then sends its unacknowledged again
            await youth.sync()

            await sides.settle()
            await sides.send("Y", 3, "after")
            await sides.send("C", 3, "after")
            await sides.settle()

            # Each side read every message of the other once, in the order it was written.
            assert sides.read_by(staff, "Y") == sides.sent["Y"]
            assert sides.read_by(youth, "C") == sides.sent["C"]
            assert staff.duplicates_received == youth.duplicates_received == 0
            assert youth.unreadable == staff.unreadable == []

            # The database holds each message once; what was acknowledged before is there.
            reader, _ = await h.console(sides.account)
            stored = await read_back(reader, conv)
            for role in ("Y", "C"):
                assert [open_text(sides.key, e) for e in stored if e.role == role] == sides.sent[
                    role
                ]
                assert set(acked_before[role]) <= set(stored)
            assert restarted.alive(), restarted.log()
    finally:
        (restarted or server).stop()
        server.stop()
