"""Transfers and shifts on a real server (issue 4 items 3 and 5), with real keys: every change of
counsellor starts a new key segment sealed to the new device (CRYPTO.md §5)."""

from __future__ import annotations

import asyncio
from typing import Any

from app.client import CounsellorClient, YouthClient
from app.client.envelopes import open_text
from tests.conftest import Server
from tests.support import Harness, call, expect_error, new_staff, shared_server, unique_language

server = shared_server()


async def _team(h: Harness, n: int, language: str, **kw: Any) -> list[CounsellorClient]:
    team = []
    for i in range(n):
        staff, _ = await h.console(
            await new_staff(h.server, alias=f"C{i}", languages=[language], **kw)
        )
        await staff.duty(True)
        team.append(staff)
    return team


async def _connected(h: Harness, staff: CounsellorClient, language: str) -> tuple[YouthClient, str]:
    youth = await h.youth(e2e=True)
    await youth.join(language=language)
    conv = (await youth.wait_paired())["conv"]
    await asyncio.gather(staff.wait_keys(conv), youth.wait_connected())
    return youth, conv


async def _say(youth: YouthClient, text: str) -> None:
    assert youth.sender is not None
    await youth.send_envelope(youth.sender.text_envelope(youth.key, text))
    await youth.expect("ack")


async def test_a_cold_transfer_to_a_colleague_starts_a_segment_only_they_can_read(
    server: Server,
) -> None:
    async with Harness(server) as h:
        language = unique_language()
        (first,) = await _team(h, 1, language)
        youth, conv = await _connected(h, first, language)
        await _say(youth, "before")
        await first.expect("envelope")
        (second,) = await _team(h, 1, language)
        assert second.credentials is not None

        await first.transfer(conv, mode="cold", to_staff=second.credentials.staff_id)
        gone = await first.expect("transferred")
        assert gone["conv"] == conv
        assert gone["to"] == "C0"
        assigned = await second.wait_assigned()
        assert assigned["seg"] == 1
        paired = await youth.expect("paired")
        assert paired["seg"] == 1
        assert paired["counsellor"]["alias"] == "C0"
        assert paired["device"]["device_id"] == second.device.device_id  # type: ignore[union-attr]
        key1, _ = await asyncio.gather(second.wait_keys(conv, 1), youth.wait_connected())
        assert key1 == youth.keys[1] != youth.keys[0]

        await _say(youth, "after")
        await second.expect("envelope")
        # The new counsellor gets the new segment only (the rekey and "before" are in segment 0).
        assert [e.seg for e in second.envelopes] == [1]
        assert open_text(key1, second.envelopes[-1]) == "after"
        # The old counsellor hears nothing of it.
        assert all(e.seg == 0 for e in first.envelopes)
        assert (conv, 1) not in first.keys

        # The earlier segment only with the young person's consent (CRYPTO.md §5).
        assert conv not in second.history
        await youth.share_earlier_segments()
        await second.expect("history")
        assert second.history[conv] == [("Y", "before")]
        # Only earlier segments, never the current or a later one.
        assert youth.sender is not None
        await youth.send(
            {
                "type": "share_history",
                "conv": conv,
                "seg": 1,
                "locator": None,
                "segments": [{"conv": conv, "seg": 1, "wrap": "A" * 150 + "w"}],
            }
        )
        await expect_error(youth, "bad_keys")


async def test_a_warm_transfer_waits_for_the_colleague(server: Server) -> None:
    async with Harness(server) as h:
        language = unique_language()
        first, second = await _team(h, 2, language)
        # Both are free; the first has been idle longest, so it takes the chat.
        youth, conv = await _connected(h, first, language)
        assert second.credentials is not None
        target = second.credentials.staff_id

        await first.transfer(conv, mode="warm", to_staff=target, note="c2VhbGVkLW5vdGU")
        offer = await second.expect("offer")
        assert offer["conv"] == conv
        assert offer["note"] == "c2VhbGVkLW5vdGU"
        assert (await first.expect("transfer"))["state"] == "offered"
        await first.transfer(conv, mode="warm", to_staff=target)
        refused = await expect_error(first, "transfer_refused")
        assert refused["reason"] == "offer_pending"

        await second.answer_offer(conv, accept=False)
        back = await first.expect("transfer")
        assert (back["state"], back["reason"]) == ("returned", "declined")
        await _say(youth, "still with the first")
        await first.expect("envelope")

        await first.transfer(conv, mode="warm", to_staff=target)
        await second.expect("offer")
        await second.answer_offer(conv, accept=True)
        assert (await first.expect("transferred"))["conv"] == conv
        assert (await second.wait_assigned())["seg"] == 1
        await youth.expect("paired")
        await asyncio.gather(second.wait_keys(conv, 1), youth.wait_connected())
        await second.answer_offer(conv, accept=True)
        assert (await expect_error(second, "transfer_refused"))["reason"] == "no_offer"


async def test_a_cold_transfer_to_a_skill_queue_waits_for_that_skill(server: Server) -> None:
    async with Harness(server) as h:
        language = unique_language()
        (first,) = await _team(h, 1, language)
        youth, conv = await _connected(h, first, language)
        # Nobody on duty serves the police queue: refused unless confirmed (issue 9 item 5).
        await first.transfer(conv, mode="cold", queue="youth", skill="police")
        refused = await expect_error(first, "transfer_refused")
        assert (refused["reason"], refused["conv"]) == ("nobody_can_serve", conv)
        await first.transfer(conv, mode="cold", queue="youth", skill="police", confirm=True)
        assert (await first.expect("transferred"))["reason"] == "transfer"
        assert (await youth.expect("requeued"))["conv"] == conv
        unserved = await youth.expect("unserved")
        assert (unserved["emergency"], unserved["next_opening"]) == ("112", None)
        assert (await youth.expect("position"))["position"] == 1
        (liaison,) = await _team(h, 1, language, skills=["youth", "police"])
        assert (await liaison.wait_assigned())["seg"] == 1
        paired = await youth.expect("paired")
        assert paired["conv"] == conv
        await asyncio.gather(liaison.wait_keys(conv, 1), youth.wait_connected())
        await _say(youth, "hello police liaison")
        await liaison.expect("envelope")
        assert open_text(youth.keys[1], liaison.envelopes[-1]) == "hello police liaison"


async def test_transfers_that_cannot_happen_are_refused(server: Server) -> None:
    async with Harness(server) as h:
        language = unique_language()
        (first,) = await _team(h, 1, language)
        youth, conv = await _connected(h, first, language)
        assert first.credentials is not None
        off_duty, _ = await h.console(await new_staff(server, languages=[language]))
        assert off_duty.credentials is not None
        for to, reason in (
            (first.credentials.staff_id, "self"),
            (off_duty.credentials.staff_id, "target_not_on_duty"),
        ):
            await first.transfer(conv, mode="cold", to_staff=to)
            assert (await expect_error(first, "transfer_refused"))["reason"] == reason
        for bad in (
            {"type": "transfer", "conv": conv, "mode": "lukewarm", "to": {"queue": "youth"}},
            {"type": "transfer", "conv": conv, "mode": "cold", "to": {}},
            {"type": "transfer", "conv": conv, "mode": "cold", "to": {"queue": "x"}},
            {"type": "transfer", "conv": conv, "mode": "cold", "to": {"staff": "short"}},
            {"type": "offer_answer", "conv": conv, "accept": "yes"},
        ):
            await first.send(bad)
            await expect_error(first, "bad_frame")
        # Nothing changed: the chat goes on with the first counsellor.
        await _say(youth, "still here")
        await first.expect("envelope")


quick = shared_server(("sqlite", "postgresql"), VH_STAFF_HEARTBEAT_TIMEOUT_SECONDS="1")


async def test_a_silent_console_ends_the_shift_and_every_chat_goes_back(quick: Server) -> None:
    """A crashed console: answered chats go back too (issue 9), each young person told why."""
    async with Harness(quick) as h:
        language = unique_language()
        (gone,) = await _team(h, 1, language)
        answered_youth, answered = await _connected(h, gone, language)
        waiting_youth, unanswered = await _connected(h, gone, language)
        await gone.send_envelope(
            gone.senders[answered].text_envelope(gone.keys[(answered, 0)], "hi")
        )
        await gone.expect("ack")
        await gone.close()  # the console dies; nobody sends a close or a duty change

        requeued = await waiting_youth.expect("requeued", timeout=20)
        assert requeued == {"type": "requeued", "conv": unanswered, "reason": "unanswered"}
        requeued = await answered_youth.expect("requeued", timeout=20)
        assert requeued == {"type": "requeued", "conv": answered, "reason": "shift_ended"}
        # Both at the front, in their first join order.
        assert (await answered_youth.expect("position"))["position"] == 1
        assert (await waiting_youth.expect("position"))["position"] == 2
        (back,) = await _team(h, 1, language)
        taken = {(await back.wait_assigned())["conv"], (await back.wait_assigned())["conv"]}
        assert taken == {answered, unanswered}
        await waiting_youth.expect("paired")
        await asyncio.gather(back.wait_keys(unanswered, 1), waiting_youth.wait_connected())


async def test_the_console_lists_colleagues_on_duty_with_their_devices(server: Server) -> None:
    async with Harness(server) as h:
        language = unique_language()
        first, second = await _team(h, 2, language)
        assert first.credentials is not None
        assert second.credentials is not None
        status, body = await call(server, "GET", "/staff/api/colleagues", None, first.credentials)
        assert status == 200
        listed = {c["staff_id"]: c for c in body["colleagues"]}
        assert first.credentials.staff_id not in listed  # not oneself
        mine = listed[second.credentials.staff_id]
        assert mine["device"]["device_id"] == second.device.device_id  # type: ignore[union-attr]
        assert (mine["load"], mine["capacity"]) == (0, 2)
        assert language in mine["languages"]
        status, body = await call(server, "GET", "/staff/api/colleagues")
        assert status == 401


async def test_a_requeued_young_person_can_resume_and_leave(server: Server) -> None:
    async with Harness(server) as h:
        language = unique_language()
        (first,) = await _team(h, 1, language)
        youth, conv = await _connected(h, first, language)
        await first.transfer(conv, mode="cold", queue="youth", skill="health", confirm=True)
        await youth.expect("requeued")
        await youth.close()  # the connection drops while waiting again

        again = await h.youth(e2e=True)
        again.ticket = youth.ticket
        resumed = await again.resume()
        assert resumed == {"type": "resumed", "queue": "youth", "conv": conv, "requeued": True}
        assert (await again.expect("position"))["position"] == 1
        await again.send({"type": "leave"})
        closed = await again.expect("closed")
        assert (closed["conv"], closed["by"], closed["reason"]) == (conv, "youth", "left")
        # The ticket is over: resuming it again ends at once.
        last = await h.youth()
        last.ticket = youth.ticket
        await last.send({"type": "resume", "ticket": youth.ticket})
        assert (await last.expect("ended"))["type"] == "ended"


async def test_closing_a_chat_withdraws_its_pending_offer(server: Server) -> None:
    async with Harness(server) as h:
        language = unique_language()
        first, second = await _team(h, 2, language)
        youth, conv = await _connected(h, first, language)
        assert second.credentials is not None
        await first.transfer(conv, mode="warm", to_staff=second.credentials.staff_id)
        offer = await second.expect("offer")
        assert offer["from"] == "C0"  # the sender's alias, for the colleague deciding
        await youth.send({"type": "close"})
        await youth.expect("closed")
        withdrawn = await second.expect("offer_withdrawn")
        assert (withdrawn["conv"], withdrawn["reason"]) == (conv, "closed")
        await second.answer_offer(conv, accept=True)
        assert (await expect_error(second, "transfer_refused"))["reason"] == "no_offer"


async def test_logout_with_open_chats_asks_first_then_hands_every_chat_back(
    server: Server,
) -> None:
    """Issue 9: 409 ``open_chats`` listing them; ``force`` ends the shift, and each chat,
    answered or not, goes back to the front of its queue with its young person told."""
    async with Harness(server) as h:
        language = unique_language()
        (sara,) = await _team(h, 1, language)
        answered_youth, answered = await _connected(h, sara, language)
        other_youth, unanswered = await _connected(h, sara, language)
        await sara.send_envelope(
            sara.senders[answered].text_envelope(sara.keys[(answered, 0)], "hi")
        )
        await sara.expect("ack")
        assert sara.credentials is not None

        status, body = await call(server, "POST", "/staff/api/logout", {}, sara.credentials)
        assert status == 409
        assert body["error"]["code"] == "open_chats"
        assert body["error"]["conversations"] == sorted([answered, unanswered])
        status, _ = await call(server, "GET", "/staff/api/me", None, sara.credentials)
        assert status == 200  # nothing ended
        status, body = await call(
            server, "POST", "/staff/api/logout", {"forced": True}, sara.credentials
        )
        assert (status, body["error"]["code"]) == (422, "invalid_request")

        status, _ = await call(
            server, "POST", "/staff/api/logout", {"force": True}, sara.credentials
        )
        assert status == 204
        told = await answered_youth.expect("requeued", timeout=5)
        assert told == {"type": "requeued", "conv": answered, "reason": "shift_ended"}
        told = await other_youth.expect("requeued", timeout=5)
        assert told == {"type": "requeued", "conv": unanswered, "reason": "unanswered"}
        (ali,) = await _team(h, 1, language)
        taken = {(await ali.wait_assigned())["conv"], (await ali.wait_assigned())["conv"]}
        assert taken == {answered, unanswered}
