"""Two ``vhouse serve`` processes sharing one PostgreSQL database and one Redis (DESIGN.md §5).

The young person's client talks to process 1 and the counsellor's to process 2: pairing, the
sealed segment key, the acceptance and every envelope cross processes through Redis. Then one
process is killed with SIGKILL (no shutdown code runs): the client that was on it reconnects
to the other process and resumes; nothing is lost or read twice, in either direction, including
what was written while it was away. And a counsellor whose process dies while holding an
unanswered chat goes off duty by the heartbeat sweep of the surviving process, which sends the
chat back to the queue, where a counsellor on the surviving process is offered it.

Real processes, real PostgreSQL and Redis, real crypto; only the heartbeat timeout is short.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.client import YouthClient
from app.client.envelopes import open_text
from tests.conftest import Database, Server, database_of, free_port, start_server
from tests.redisserver import new_prefix, shared_redis_url
from tests.relay.test_restart import Sides, reconnect
from tests.support import (
    Client,
    Harness,
    call,
    frames_until_closed,
    new_staff,
    read_back,
    unique_language,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

#: A console's server writes its heartbeat every 5 s (app/relay/consolewatch.py) and the sweep
#: runs every 5 s: 10 s of silence is a dead process without taking a live console off duty.
HEARTBEAT_TIMEOUT = "10"
ABNORMAL = 1006  # the TCP connection dropped without a close frame


def _two_processes(database: Database, tmp: Path, **env: str) -> tuple[Server, Server]:
    """Process 1 migrates; process 2 starts on the migrated database with the same service key,
    key directory (server secret, bucket keys), broker prefix and allowed origins."""
    ports = free_port(), free_port()
    shared = {
        "VH_BROKER_URL": shared_redis_url(),
        "VH_BROKER_PREFIX": new_prefix(),
        "VH_ALLOWED_ORIGINS": json.dumps([f"http://127.0.0.1:{p}" for p in ports]),
        **env,
    }
    first = start_server(database, tmp, port=ports[0], **shared)
    try:
        second = start_server(
            database,
            tmp,
            port=ports[1],
            migrate=False,
            key_file=first.service_key_file,
            **shared,
        )
    except BaseException:
        first.stop()
        raise
    return first, second


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    with database_of("postgresql", tmp_path) as database:
        first, second = _two_processes(
            database, tmp_path, VH_STAFF_HEARTBEAT_TIMEOUT_SECONDS=HEARTBEAT_TIMEOUT
        )
        try:
            yield first, second
        finally:
            second.stop()
            first.stop()


async def _youth_on(h: Harness, server: Server) -> YouthClient:
    youth = YouthClient(server.base_url, service_key=server.service_key)
    h.clients.append(youth)
    await youth.connect()
    return youth


async def _send_offline(sides: Sides, role: str, n: int) -> None:
    """``n`` texts typed while ``role``'s connection is down: kept unacknowledged, sent again
    after the reconnect."""
    for _ in range(n):
        try:
            await sides.send(role, 1, "offline")
        except Exception:  # noqa: S110 - the socket is gone; the envelope stays unacked
            pass


async def _wait_acked(client: Client, sides: Sides, role: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while sides.acked(role) != sides.envelopes[role]:
        frame = await client.recv(max(0.01, deadline - loop.time()))
        if frame["type"] not in ("envelope", "ack"):
            client.inbox.append(frame)


@pytest.mark.parametrize("killed", ["counsellor", "youth"])
async def test_a_chat_across_two_processes_survives_kill_9_of_either(
    processes: tuple[Server, Server], killed: str
) -> None:
    """R-20, R-22: youth on process 1, counsellor on process 2, a sealed chat both ways; one
    process gets SIGKILL; its client reconnects to the other and resumes: every text read once,
    in order, on the other side, each stored once with its seqs in order."""
    youth_proc, staff_proc = processes
    async with Harness(staff_proc) as h:
        language = unique_language()
        account = await new_staff(staff_proc, languages=[language])
        staff, _ = await h.console(account)
        await staff.duty(True)
        youth = await _youth_on(h, youth_proc)
        await youth.join(language=language)
        conv = str((await youth.wait_paired())["conv"])
        key, _ = await asyncio.gather(staff.wait_keys(conv), youth.wait_connected())
        sides = Sides(account, youth, staff, conv, key)

        await sides.send("Y", 3, "before")
        await sides.send("C", 3, "before")
        await sides.settle()

        victim, survivor = (staff_proc, youth_proc) if killed == "counsellor" else processes
        gone, stays = (staff, youth) if killed == "counsellor" else (youth, staff)
        gone_role, stays_role = ("C", "Y") if killed == "counsellor" else ("Y", "C")
        # A burst in flight from the doomed side: some acknowledged, some maybe not, when it dies.
        await sides.send(gone_role, 4, "burst")
        victim.process.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(victim.process.wait, 20) == -signal.SIGKILL
        _, code = await frames_until_closed(gone, 20)
        assert code == ABNORMAL

        # The outage window: the other side writes and is acknowledged by its own process; the
        # side that lost its process types on.
        await sides.send(stays_role, 3, "outage")
        await _wait_acked(stays, sides, stays_role)
        await _send_offline(sides, gone_role, 2)

        # Back through the surviving process (same session, same device, same ticket).
        gone.base_url = survivor.base_url
        if killed == "counsellor":
            assert staff.credentials is not None
            credentials = staff.credentials
            hello = await reconnect(lambda: staff.connect(credentials))
            assert hello["on_duty"] is True
            assert conv in {c["conv"] for c in hello["conversations"]}
            await staff.sync(conv)
        else:

            async def youth_back() -> None:
                await youth.connect()
                await youth.resume()

            await reconnect(youth_back)
            await youth.sync()
        await sides.settle()
        await sides.send("Y", 3, "after")
        await sides.send("C", 3, "after")
        await sides.settle()

        assert sides.read_by(staff, "Y") == sides.sent["Y"]
        assert sides.read_by(youth, "C") == sides.sent["C"]
        assert any(t.startswith("outage") for t in sides.read_by(gone, stays_role))
        assert any(t.startswith("offline") for t in sides.read_by(stays, gone_role))
        assert staff.duplicates_received == youth.duplicates_received == 0
        assert youth.unreadable == staff.unreadable == []

        # Stored once each, in the order written, with the seqs each was sent with.
        h.server = survivor
        reader, _ = await h.console(account)
        stored = await read_back(reader, conv)
        for role in ("Y", "C"):
            mine = [e for e in stored if e.role == role]
            assert [open_text(key, e) for e in mine] == sides.sent[role]
            assert [e.seq for e in mine] == [e.seq for e in sides.envelopes[role]]
            assert len({e.seq for e in mine}) == len(mine)
        assert survivor.alive(), survivor.log()


async def test_a_dead_process_s_counsellor_goes_off_duty_and_the_chat_is_offered_again(
    processes: tuple[Server, Server],
) -> None:
    """A counsellor's process dies (SIGKILL) while they hold a chat they have not answered:
    the surviving process's heartbeat sweep takes them off duty, the young person (on the
    surviving process) hears ``requeued``/``unanswered``, and a counsellor on the surviving
    process is paired with them and the chat goes on, sealed to the new counsellor's device."""
    survivor, doomed = processes
    async with Harness(doomed) as h:
        language = unique_language()
        first = await new_staff(doomed, languages=[language])
        lost, _ = await h.console(first)
        await lost.duty(True)
        youth = await _youth_on(h, survivor)
        await youth.join(language=language)
        conv = str((await youth.wait_paired())["conv"])
        await asyncio.gather(lost.wait_keys(conv), youth.wait_connected())

        # A second counsellor on the surviving process, on duty with room.
        h.server = survivor
        second = await new_staff(survivor, languages=[language])
        back, _ = await h.console(second)
        await back.duty(True)
        assert back.credentials is not None

        doomed.process.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(doomed.process.wait, 20) == -signal.SIGKILL

        requeued = await youth.expect("requeued", timeout=30)
        assert requeued == {"type": "requeued", "conv": conv, "reason": "unanswered"}
        assigned = await back.wait_assigned(timeout=15)
        assert assigned["conv"] == conv
        paired = await youth.expect("paired", timeout=15)
        assert paired["conv"] == conv
        seg = int(paired.get("seg", 1))
        key, _ = await asyncio.gather(back.wait_keys(conv, seg), youth.wait_connected())
        assert youth.sender is not None
        assert youth.sender.seg == seg

        # The first counsellor is off duty: not among the colleagues on duty any more.
        status, body = await call(survivor, "GET", "/staff/api/colleagues", None, back.credentials)
        assert status == 200
        assert first.staff_id not in {c["staff_id"] for c in body["colleagues"]}

        sides = Sides(second, youth, back, conv, key)
        await sides.send("Y", 2, "again")
        await sides.send("C", 2, "again")
        await sides.settle()
        assert sides.read_by(back, "Y") == sides.sent["Y"]
        assert sides.read_by(youth, "C") == sides.sent["C"]
        assert survivor.alive(), survivor.log()
