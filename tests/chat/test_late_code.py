"""A return code asked for just after the chat ended (issue 12 §3, "the return code offered"):
the page that still holds the keys files the wraps with its ticket over HTTP, on a real server
(SQLite and PostgreSQL); the return visit then opens the chat. Refused for another chat, for a
chat still open, after the window, twice, or with two codes."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from app.chat.latecode import may_add_late_code
from app.client.youth import YouthClient
from app.crypto import returncode
from app.kit import b64
from tests.chat.test_segments import _connected_pair
from tests.conftest import Server
from tests.expiry.world import write
from tests.support import Harness, call, shared_server

server = shared_server()
PATH = "/api/youth/return-code"


def _wrap(code: str, key: bytes, conv: str, seg: int) -> dict[str, Any]:
    salt, nonce = os.urandom(16), os.urandom(12)
    kek = returncode.kek(code, salt)
    return {
        "seg": seg,
        "locator": b64.encode(returncode.locator(code)),
        "salt": b64.encode(salt),
        "nonce": b64.encode(nonce),
        "wrap": b64.encode(returncode.wrap_with_code(kek, nonce, key, b64.decode(conv), seg)),
    }


async def _ended_chat(h: Harness) -> tuple[YouthClient, str, str]:
    """A real (encrypted) chat with a message each way, ended by the young person: the page's
    client, the conversation and the ticket its page holds."""
    staff, youth, conv = await _connected_pair(h)
    await asyncio.gather(staff.wait_keys(conv), youth.wait_connected())
    assert youth.sender is not None
    await youth.send_envelope(youth.sender.text_envelope(youth.key, "hej"))
    await youth.expect("ack")
    key = await staff.wait_keys(conv)
    await staff.send_envelope(staff.senders[conv].text_envelope(key, "hej hej"))
    await staff.expect("ack")
    await youth.expect("envelope")
    ticket = youth.ticket
    assert ticket is not None
    return youth, conv, ticket


async def _close(youth: YouthClient) -> None:
    await youth.send({"type": "close", "conv": youth.conv})
    await youth.expect("closed")


def test_the_rule() -> None:
    assert may_add_late_code("closed", 100.0, 150.0, 60)
    assert may_add_late_code("abandoned", 100.0, 160.0, 60)
    assert not may_add_late_code("closed", 100.0, 160.5, 60)
    assert not may_add_late_code("open", None, 100.0, 60)
    assert not may_add_late_code("requeued", 100.0, 101.0, 60)
    assert not may_add_late_code("closed", None, 100.0, 60)


async def test_a_code_after_the_end_opens_the_chat(server: Server) -> None:
    async with Harness(server) as h:
        youth, conv, ticket = await _ended_chat(h)
        key = youth.key
        code = returncode.new_code()
        body = {"ticket": ticket, "conv": conv, "segments": [_wrap(code, key, conv, 0)]}

        status, answer = await call(server, "POST", PATH, body)
        assert status == 409, answer  # still open: the socket takes the code
        assert answer["error"]["code"] == "too_late"

        await _close(youth)
        status, answer = await call(server, "POST", PATH, body)
        assert (status, answer) == (204, {})

        again = {**body, "segments": [_wrap(code, key, conv, 0)]}
        status, answer = await call(server, "POST", PATH, again)
        assert status == 409, answer
        assert answer["error"]["code"] == "keys_refused"

        (earlier,) = await youth.fetch_history(code)
        assert earlier.conv == conv
        assert earlier.keys == {0: key}
        assert earlier.messages == [("Y", "hej"), ("C", "hej hej")]


async def test_refusals_leave_nothing_behind(server: Server) -> None:
    async with Harness(server) as h:
        youth, conv, ticket = await _ended_chat(h)
        _, _, other = await _ended_chat(h)
        await _close(youth)
        code = returncode.new_code()
        wrap = _wrap(code, youth.key, conv, 0)

        # Another chat's ticket: unknown for this conversation.
        status, answer = await call(
            server, "POST", PATH, {"ticket": other, "conv": conv, "segments": [wrap]}
        )
        assert status == 404, answer
        assert answer["error"]["code"] == "ticket_unknown"
        # A segment the conversation does not have, beside a good one: nothing is stored.
        bad = {"ticket": ticket, "conv": conv, "segments": [wrap, {**wrap, "seg": 7}]}
        status, answer = await call(server, "POST", PATH, bad)
        assert status == 409, answer
        assert answer["error"]["code"] == "keys_refused"
        status, _ = await call(server, "POST", "/api/youth/return", {"locator": wrap["locator"]})
        assert status == 404
        # Two codes in one request.
        two = {**bad, "segments": [wrap, _wrap(returncode.new_code(), youth.key, conv, 0)]}
        status, answer = await call(server, "POST", PATH, two)
        assert status == 409, answer
        assert answer["error"]["code"] == "keys_refused"
        # Bad shapes: 422 without echoing what was sent.
        for broken in (
            {"ticket": ticket, "conv": conv, "segments": []},
            {"ticket": ticket, "conv": conv, "segments": [{**wrap, "wrap": "x"}]},
            {"ticket": ticket, "conv": conv, "segments": [wrap], "extra-key-9f": 1},
        ):
            status, answer = await call(server, "POST", PATH, broken)
            assert status == 422, answer
            assert answer["error"]["code"] == "invalid_request"
            assert "extra-key-9f" not in str(answer)
        # Past the window (the chat ended long ago): too late.
        await write(
            server, "UPDATE conversations SET closed_at = closed_at - 3600 WHERE id = :c", c=conv
        )
        status, answer = await call(
            server, "POST", PATH, {"ticket": ticket, "conv": conv, "segments": [wrap]}
        )
        assert status == 409, answer
        assert answer["error"]["code"] == "too_late"
