"""The whole path against a real uvicorn server: triage, queue, pairing, relay, close."""

from __future__ import annotations

import asyncio

from app.client import CounsellorClient, YouthClient, login
from tests.conftest import Server, StaffAccount, _enrol_code


async def _counsellor(server: Server, account: StaffAccount) -> CounsellorClient:
    credentials = await asyncio.to_thread(
        login, server.base_url, account.username, account.password, account.code()
    )
    client = CounsellorClient(
        server.base_url, enrol_code=await _enrol_code(server.database, account.staff_id)
    )
    hello = await client.connect(credentials)
    assert hello["staff"]["alias"] == "Sara"
    assert hello["on_duty"] is False
    return client


async def test_triage_queue_pair_relay_close(server: Server, counsellor: StaffAccount) -> None:
    youths = [YouthClient(server.base_url) for _ in range(3)]
    for youth in youths:
        await youth.connect()
        ticket = await youth.join(language="sv", kind="youth", danger_now=False)
        assert len(ticket) == 22  # 128 random bits, base64url

    # Each is told its place, and told again as the line grows, until all three wait.
    latest = [await _latest_position(y, waiting=3) for y in youths]
    assert [p["position"] for p in latest] == [1, 2, 3]

    staff = await _counsellor(server, counsellor)
    assert (await staff.duty(True))["on"] is True
    first = await staff.wait_assigned()
    second = await staff.wait_assigned()  # capacity 2: the first two in line
    paired = [await youths[0].wait_paired(), await youths[1].wait_paired()]
    assert {first["conv"], second["conv"]} == {p["conv"] for p in paired}
    assert paired[0]["counsellor"] == {"alias": "Sara"}  # the alias only, nothing else
    # The third moves up (a push of its old place may still be on its way: skip those).
    third = await youths[2].expect("position")
    while third["waiting"] > 1:
        assert third["position"] == third["waiting"], third  # last in line, until it moves up
        third = await youths[2].expect("position")
    assert third == {"type": "position", "position": 1, "waiting": 1, "estimate": None}

    youth = youths[0]
    conv = youth.conv
    assert conv is not None
    assert youth.sender is not None
    sender = staff.senders[conv]
    sent_by_youth = [youth.sender.test_envelope() for _ in range(100)]
    for envelope in sent_by_youth:
        await youth.send_envelope(envelope)
    acks = [await youth.expect("ack") for _ in range(100)]
    assert [a["seq"] for a in acks] == list(range(1, 101))
    assert all("duplicate" not in a for a in acks)

    sent_by_staff = [sender.test_envelope() for _ in range(100)]
    for envelope in sent_by_staff:
        await staff.send_envelope(envelope)
    staff_acks = [await staff.expect("ack") for _ in range(100)]
    assert [a["seq"] for a in staff_acks] == list(range(1, 101))

    await _until(staff, lambda: len([e for e in staff.envelopes if e.conv == conv]) == 100)
    await _until(youth, lambda: len(youth.envelopes) == 100)
    assert [e for e in staff.envelopes if e.conv == conv] == sent_by_youth  # in order, verbatim
    assert youth.envelopes == sent_by_staff
    assert staff.duplicates_received == 0
    assert youth.duplicates_received == 0

    await youth.send({"type": "close"})
    closed = await youth.expect("closed")
    assert closed["by"] == "youth"
    assert (await staff.expect("closed"))["conv"] == conv
    # The freed seat goes to the one still waiting.
    assert (await staff.wait_assigned())["conv"] == (await youths[2].wait_paired())["conv"]
    for client in (*youths, staff):
        await client.close()
    assert server.alive()


async def _latest_position(youth: YouthClient, *, waiting: int) -> dict[str, object]:
    """Position frames until the line is ``waiting`` long; a place never changes meanwhile."""
    first = await youth.expect("position")
    frame = first
    while frame["waiting"] != waiting:
        frame = await youth.expect("position")
        assert frame["position"] == first["position"]  # joins behind do not move anyone
    return frame


async def _until(client: YouthClient | CounsellorClient, done: object) -> None:
    assert callable(done)
    while not done():
        frame = await client.recv()
        if frame["type"] not in ("envelope", "ack"):
            client.inbox.append(frame)
