"""Delivery that cannot lie, against a real server (PROTOCOL.md §4, SECURITY R-26).

A stream committed out of order (seq 1, 3, 2: a client resending after an outage does exactly
this) reaches the other side whole, live and through a cursor sync; an envelope for a segment
that does not exist is refused with an error frame, neither stored nor acknowledged.
"""

from __future__ import annotations

from app.client.envelopes import Sender
from app.kit import b64
from tests.conftest import Server
from tests.support import Harness, expect_error, read_back, shared_server, until

served = shared_server()


async def test_seq_1_3_2_is_acked_relayed_live_and_replayed_by_a_cursor_sync(
    served: Server,
) -> None:
    """R-26: Seq 1 3 2 is acked relayed live and replayed by a cursor sync."""
    async with Harness(served) as h:
        chat = await h.chat(envelopes=0)
        staff, youth, conv = chat.staff, chat.youth, chat.conv
        assert youth.sender is not None

        # Live: 1, 3, 2 on one stream; all three acked, all three relayed.
        one, two, three = (youth.sender.test_envelope() for _ in range(3))
        for envelope in (one, three, two):
            await youth.send_envelope(envelope)
        acks = [await youth.expect("ack") for _ in range(3)]
        assert [a["seq"] for a in acks] == [1, 3, 2]
        assert not any(a.get("duplicate") for a in acks)
        assert youth.unacked == {}
        await until(staff, lambda: len(staff.envelopes) == 3)
        assert staff.envelopes == [one, three, two]

        # Through a sync: a console that had 1 and 3 when it went away gets 2 (and only 2).
        later = Sender(conv=conv, role="Y", seg=youth.sender.seg)
        first, second, third = (later.test_envelope() for _ in range(3))
        for envelope in (first, third):
            await youth.send_envelope(envelope)
        await until(staff, lambda: third in staff.envelopes)
        received = dict(staff.received)
        stream = (later.seg, "Y", later.inst)
        assert (received[stream].prefix, received[stream].beyond) == (1, {3})
        assert staff.ws is not None
        await staff.ws.close()
        await youth.send_envelope(second)
        await until(youth, lambda: youth.is_acked(second))

        again, hello = await h.console(chat.account)
        assert conv in {c["conv"] for c in hello["conversations"]}
        again.received = {k: v for k, v in received.items()}
        again.senders[conv] = staff.senders[conv]
        await again.sync(conv)
        assert again.envelopes == [second]  # 1 and 3 were held already; 2 was missing
        assert again.missing() == 0
        assert await read_back(again, conv) == [one, three, two, first, third, second]


async def test_envelopes_for_a_segment_that_does_not_exist_are_refused(served: Server) -> None:
    async with Harness(served) as h:
        chat = await h.chat(envelopes=1)
        staff, youth, conv = chat.staff, chat.youth, chat.conv
        assert youth.sender is not None

        ghost = Sender(conv=conv, role="Y", seg=youth.sender.seg + 1).test_envelope()
        await youth.send_envelope(ghost)
        error = await expect_error(youth, "unknown_segment")
        assert error["ref"] == {"seg": ghost.seg, "inst": ghost.inst, "seq": ghost.seq}
        assert not youth.is_acked(ghost)
        assert youth.unacked == {}  # refused for good: not sent again

        far = Sender(conv=conv, role="C", seg=7).test_envelope()
        await staff.send_envelope(far)
        await expect_error(staff, "unknown_segment")

        # The stream goes on in the real segment; nothing of the refused ones was stored.
        real = youth.sender.test_envelope()
        await youth.send_envelope(real)
        assert (await youth.expect("ack"))["seq"] == real.seq
        await until(staff, lambda: real in staff.envelopes)
        assert await read_back(staff, conv) == [*chat.stored, real]


async def test_non_canonical_ids_are_refused(served: Server) -> None:
    """R-26: Non canonical ids are refused."""
    async with Harness(served) as h:
        chat = await h.chat(envelopes=0)
        youth = chat.youth
        assert youth.sender is not None
        envelope = youth.sender.test_envelope()
        respelled = envelope.inst[:-1] + ("B" if envelope.inst[-1] != "B" else "C")
        assert b64.decode(envelope.inst)  # the canonical one is fine
        frame = {"type": "envelope", "envelope": {**envelope.as_dict(), "inst": respelled}}
        await youth.send(frame)
        await expect_error(youth, "bad_envelope")
        ct = envelope.ct[:-1] + ("B" if envelope.ct[-1] != "B" else "C")
        await youth.send({"type": "envelope", "envelope": {**envelope.as_dict(), "ct": ct}})
        await expect_error(youth, "bad_envelope")
        await youth.send_envelope(envelope)
        assert (await youth.expect("ack"))["seq"] == envelope.seq
