"""The ``transcript_sig`` frame through a real server (issue 13 (5), PROTOCOL.md §6.6): signed
before a transfer and relayed to the young person, who checks it; only the segment's own device
may sign it, also after the chat has left its console."""

from __future__ import annotations

import asyncio

from app.client import CounsellorClient, YouthClient
from tests.conftest import Server
from tests.support import Harness, expect_error, new_staff, shared_server, unique_language

server = shared_server()


async def _console(h: Harness, language: str, alias: str) -> CounsellorClient:
    staff, _ = await h.console(await new_staff(h.server, alias=alias, languages=[language]))
    await staff.duty(True)
    return staff


async def test_a_transfer_is_signed_and_only_the_segments_device_may_sign(server: Server) -> None:
    async with Harness(server) as h:
        language = unique_language()
        first = await _console(h, language, "Ada")
        youth: YouthClient = await h.youth(e2e=True)
        await youth.join(language=language)
        conv = (await youth.wait_paired())["conv"]
        await asyncio.gather(first.wait_keys(conv), youth.wait_connected())
        assert youth.sender is not None
        await youth.send_envelope(youth.sender.text_envelope(youth.key, "hej"))
        await youth.expect("ack")
        await first.expect("envelope")
        second = await _console(h, language, "Bo")
        staff_id = second.device.staff_id if second.device else None
        assert staff_id is not None

        await first.transfer(conv, mode="cold", to_staff=staff_id)
        assert (await first.expect("transcript_sig_stored"))["seg"] == 0
        await youth.expect("transcript_sig")
        assert youth.transcript_checks == [(0, "ok")]
        await first.expect("transferred")
        await second.wait_assigned()
        await youth.expect("paired")
        await asyncio.gather(second.wait_keys(conv, 1), youth.wait_connected())

        # The old console may still sign its own segment (the chat has left it)...
        await first.send(first.transcript_frame(conv, 0))
        assert (await first.expect("transcript_sig_stored"))["seg"] == 0
        # ...but not the new one, and the new console not the old one.
        frame = first.transcript_frame(conv, 0)
        await first.send({**frame, "seg": 1})
        await expect_error(first, "wrong_device")
        await second.send({**second.transcript_frame(conv, 1), "seg": 0})
        await expect_error(second, "wrong_device")
        await second.send({**second.transcript_frame(conv, 1), "seg": 7})
        await expect_error(second, "unknown_segment")
        await second.send({**second.transcript_frame(conv, 1), "n": 3})
        await expect_error(second, "bad_frame")
        assert (await second.sign_transcript(conv)) == [1]
        assert (await second.expect("transcript_sig_stored"))["seg"] == 1
