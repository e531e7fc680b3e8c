"""Reconnect and resume against a real server (DESIGN.md §3.5, SECURITY R-20).

A young person's connection drops mid-chat; a new client instance carries over what a real
client keeps (ticket, sender state, received cursors, acked map), resumes, syncs and resends
what was not acknowledged. Nothing acknowledged is lost and nothing arrives twice.
"""

from __future__ import annotations

import pytest

from app.chat.envelope import Envelope
from app.client import CounsellorClient, YouthClient
from app.crypto import sign
from app.kit import b64
from tests.conftest import Server
from tests.support import (
    Harness,
    exchange,
    frames_until_closed,
    new_staff,
    read_back,
    shared_server,
    unique_language,
    until,
)

#: One server per database kind; each test has its own counsellor and triage language.
served = shared_server()


def _carry_over(old: YouthClient) -> YouthClient:
    """A new client instance with the state a real client keeps across a reconnect."""
    new = YouthClient(old.base_url)
    new.ticket, new.conv, new.sender = old.ticket, old.conv, old.sender
    new.received = dict(old.received)
    new.acks = dict(old.acks)
    new.envelopes = list(old.envelopes)
    new.duplicates_received = old.duplicates_received
    return new


@pytest.mark.parametrize("drop", ["close_after_some_acks", "abort_without_acks"])
async def test_youth_reconnects_and_nothing_is_lost_or_doubled(served: Server, drop: str) -> None:
    """R-20: Youth reconnects and nothing is lost or doubled."""
    async with Harness(served) as h:
        chat = await h.chat(envelopes=0)
        staff, youth, conv = chat.staff, chat.youth, chat.conv
        assert youth.sender is not None
        sender = staff.senders[conv]
        own = (youth.sender.seg, "Y", youth.sender.inst)

        # Before the drop: the counsellor's first envelopes reach the young person.
        from_staff = [sender.test_envelope() for _ in range(5)]
        for envelope in from_staff:
            await staff.send_envelope(envelope)
        await until(youth, lambda: len(youth.envelopes) == 5)

        from_youth = [youth.sender.test_envelope() for _ in range(20)]
        if drop == "close_after_some_acks":
            for envelope in from_youth[:10]:
                await youth.send_envelope(envelope)
            await until(youth, lambda: youth.acked.get(own, 0) >= 6)
            for envelope in from_youth[10:]:
                await youth.send_envelope(envelope)
            assert youth.ws is not None
            await youth.ws.close()  # without waiting for the other acks
        else:
            for envelope in from_youth:
                await youth.send_envelope(envelope)
            assert youth.ws is not None
            youth.ws.transport.abort()  # TCP gone at once: no close frame, no acks read
        acked_before = youth.acked.get(own, 0)
        assert acked_before < 20

        # Meanwhile the counsellor writes on; the server stores what it cannot deliver.
        while_away = [sender.test_envelope() for _ in range(5)]
        for envelope in while_away:
            await staff.send_envelope(envelope)
        staff_stream = (sender.seg, "C", sender.inst)
        await until(staff, lambda: staff.acked.get(staff_stream, 0) == 10)  # all stored
        from_staff += while_away

        again = _carry_over(youth)
        h.clients.append(again)
        await again.connect()
        resumed = await again.resume()
        assert resumed["conv"] == conv
        await again.sync()
        assert _from(again, "C") == from_staff  # the five missed ones replayed, once
        # The sync also replays our own envelopes the server stored beyond our acked cursor:
        # that is how the client learns which of the unacknowledged ones arrived.
        stored_own = {e.seq for e in again.envelopes if e.role == "Y"}
        assert all(acked_before < seq <= 20 for seq in stored_own)

        unacked = [e for e in from_youth if e.seq > acked_before]
        for envelope in unacked:
            await again.send_envelope(envelope)
        acks = [await again.expect("ack") for _ in unacked]
        assert [a["seq"] for a in acks] == [e.seq for e in unacked]
        duplicates = {a["seq"] for a in acks if a.get("duplicate")}
        assert stored_own <= duplicates  # stored before: acknowledged, not stored twice
        if drop == "close_after_some_acks":
            # A clean close: the server read every frame, and its store commits in order, so
            # every resend finds its original (perhaps committed only after the sync).
            assert duplicates == {e.seq for e in unacked}

        # After the resume the chat goes on both ways.
        after = [sender.test_envelope() for _ in range(5)]
        for envelope in after:
            await staff.send_envelope(envelope)
        from_staff += after
        more = [again.sender.test_envelope() for _ in range(3)]  # type: ignore[union-attr]
        for envelope in more:
            await again.send_envelope(envelope)
        from_youth += more

        await until(staff, lambda: len(staff.envelopes) >= len(from_youth), timeout=15)
        await until(again, lambda: _from(again, "C") == from_staff, timeout=15)
        assert staff.envelopes == from_youth  # every one, once, in order
        assert staff.duplicates_received == 0
        assert _from(again, "C") == from_staff
        assert again.duplicates_received == 0
        assert served.alive()


def _from(client: YouthClient | CounsellorClient, role: str) -> list[Envelope]:
    return [e for e in client.envelopes if e.role == role]


async def test_console_reconnect_gets_open_conversations_and_full_history(served: Server) -> None:
    async with Harness(served) as h:
        chat = await h.chat(envelopes=3)
        staff, youth, conv = chat.staff, chat.youth, chat.conv
        await exchange(chat, 2)
        await staff.close()  # the console goes away; the conversation stays open

        console, hello = await h.console(chat.account)  # a fresh login and a new instance
        # Back within the heartbeat timeout: the shift goes on (tests/triage/test_handover.py
        # shows the timeout ending it).
        assert hello["on_duty"] is True
        # Key segment 0 is sealed to the first console's device; this relay-only young person
        # never sent keys, so there is nothing to unseal or accept yet.
        assert staff.device is not None
        assert youth.sig_key is not None
        assert hello["conversations"] == [
            {
                "conv": conv,
                "kind": "youth",
                "language": chat.language,
                "urgent": False,
                "present": True,  # the young person's socket is there (issue 9)
                "seg": 0,
                "device": staff.device.device_id,
                "wrap": None,
                "accepted": False,
                # The page key the young person's client sent in its join (PROTOCOL.md §6.7).
                "youth_key": b64.encode(sign.public_key_bytes(youth.sig_key)),
            }
        ]
        history = await read_back(console, conv)
        assert history == chat.stored  # every envelope of both sides, in stored order
        assert console.duplicates_received == 0

        # Live relay resumes once the console has synced.
        assert youth.sender is not None
        later = youth.sender.test_envelope()
        await youth.send_envelope(later)
        await until(console, lambda: later in console.envelopes)
        assert console.envelopes == [*chat.stored, later]


async def test_resume_while_waiting_replaces_the_old_socket_and_keeps_the_place(
    served: Server,
) -> None:
    """A second connection with the ticket (e.g. after a network switch, while the server still
    holds the old one) takes over; the old one is closed, and the ticket stays in the queue."""
    async with Harness(served) as h:
        language = unique_language()
        old = await h.youth()
        await old.join(language=language)
        assert (await old.expect("position"))["position"] == 1

        new = YouthClient(served.base_url, ticket=old.ticket)
        h.clients.append(new)
        await new.connect()
        assert (await new.resume())["queue"] == "youth"
        frames, code = await frames_until_closed(old)
        assert code == 4001
        assert [f["code"] for f in frames if f["type"] == "error"] == ["replaced"]
        assert (await new.expect("position"))["position"] == 1

        staff, _ = await h.console(await new_staff(served, languages=[language]))
        await staff.duty(True)
        paired = await new.wait_paired()
        assert (await staff.wait_assigned())["conv"] == paired["conv"]
