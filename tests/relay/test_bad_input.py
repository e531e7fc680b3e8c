"""Hostile and broken input against a real server (SECURITY R-1, R-2, R-4 … R-7).

Every test ends with ``assert_unharmed``: the server still pairs a new young person and relays
both ways, and the envelopes stored before are read back exactly, in order, by a freshly
logged-in console.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from app.chat.envelope import CT_MAX_CHARS
from app.client.envelopes import Sender
from app.kit import b64
from tests.conftest import Server
from tests.support import (
    Harness,
    exchange,
    expect_error,
    frames_until_closed,
    shared_server,
    unique_language,
    until,
)

served = shared_server()
rate_limited_server = shared_server(VH_WS_FRAMES_PER_MINUTE="20")
join_limited_server = shared_server(VH_YOUTH_JOINS_PER_WINDOW="3", VH_YOUTH_JOIN_WINDOW_SECONDS="3")
small_queue_server = shared_server(VH_QUEUE_CAP="2")
few_sockets_server = shared_server(("sqlite",), VH_WS_SOCKETS_PER_CLIENT="3")


def _ws(server: Server, path: str) -> str:
    return server.base_url.replace("http://", "ws://") + path


# ---------------------------------------------------------------------- malformed frames


async def test_malformed_frames_get_error_frames(served: Server) -> None:
    async with Harness(served) as h:
        chat = await h.chat()
        for raw, code in [
            ("this is not json {", "bad_json"),
            ('{"type": "envelope", ', "bad_json"),
            ("[1, 2, 3]", "bad_frame"),
            ('"join"', "bad_frame"),
            ("null", "bad_frame"),
            ('{"no_type": 1}', "bad_frame"),
            ('{"type": 5}', "bad_frame"),
            ("[" * 30_000 + "]" * 30_000, "bad_json"),  # parser recursion, not a crash
        ]:
            await chat.youth.send_raw(raw)
            await expect_error(chat.youth, code)
        await chat.youth.send_raw(b'{"type": "leave"}')  # binary frames are refused
        await expect_error(chat.youth, "bad_frame")
        await chat.staff.send_raw(b"\x00\xff")
        await expect_error(chat.staff, "bad_frame")
        await exchange(chat, 1)  # both sockets still relay
        await h.assert_unharmed(chat)


async def test_unknown_frame_types(served: Server) -> None:
    async with Harness(served) as h:
        chat = await h.chat()
        await chat.youth.send({"type": "hello"})
        await expect_error(chat.youth, "unknown_type")
        await chat.youth.send({"type": "duty", "on": True})  # a staff frame on the youth socket
        await expect_error(chat.youth, "unknown_type")
        await chat.staff.send({"type": "join", "triage": {}})  # a youth frame on the console
        await expect_error(chat.staff, "unknown_type")
        await chat.staff.send({"type": "resume", "ticket": chat.youth.ticket})
        await expect_error(chat.staff, "unknown_type")
        await exchange(chat, 1)
        await h.assert_unharmed(chat)


# ---------------------------------------------------------------------- envelopes (R-4)


async def test_envelope_for_someone_elses_conversation(served: Server) -> None:
    """R-4: an envelope for a conversation the sender is not in is refused, never delivered."""
    async with Harness(served) as h:
        a = await h.chat()
        b = await h.chat()
        forged_y = Sender(conv=a.conv, role="Y").test_envelope()
        await b.youth.send_envelope(forged_y)
        error = await expect_error(b.youth, "not_in_conversation")
        assert error["ref"] == {"seg": 0, "inst": forged_y.inst, "seq": 1}
        forged_c = Sender(conv=a.conv, role="C").test_envelope()
        await b.staff.send_envelope(forged_c)
        await expect_error(b.staff, "not_in_conversation")
        nowhere = Sender(conv=b64.encode(os.urandom(16)), role="Y").test_envelope()
        await b.youth.send_envelope(nowhere)
        await expect_error(b.youth, "not_in_conversation")

        # A waiting young person has no conversation at all.
        waiting = await h.youth()
        await waiting.join(language=unique_language())
        await waiting.send_envelope(Sender(conv=a.conv, role="Y").test_envelope())
        await expect_error(waiting, "wrong_state")

        # Later envelopes of A arrive at A's counsellor; the forged ones, sent before, never did.
        await exchange(a, 2)
        await exchange(b, 1)
        assert forged_y not in a.staff.envelopes
        assert forged_c not in a.youth.envelopes
        assert [e for e in a.staff.envelopes if e.conv == a.conv] == [
            e for e in a.stored if e.role == "Y"
        ]
        assert a.youth.envelopes == [e for e in a.stored if e.role == "C"]
        await h.assert_unharmed(a)
        await h.assert_unharmed(b)


async def test_envelope_with_the_wrong_role(served: Server) -> None:
    """R-4: the role comes from the socket, never the frame: the other role is refused."""
    async with Harness(served) as h:
        chat = await h.chat()
        as_counsellor = Sender(conv=chat.conv, role="C").test_envelope()
        await chat.youth.send_envelope(as_counsellor)
        error = await expect_error(chat.youth, "role_mismatch")
        assert error["ref"]["inst"] == as_counsellor.inst
        as_youth = Sender(conv=chat.conv, role="Y").test_envelope()
        await chat.staff.send_envelope(as_youth)
        await expect_error(chat.staff, "role_mismatch")
        await exchange(chat, 1)
        assert as_counsellor not in chat.youth.envelopes
        assert as_youth not in chat.staff.envelopes
        await h.assert_unharmed(chat)  # and neither was stored


def _mangled(valid: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**valid, "ct": "!!" + valid["ct"][2:]},  # not base64url
        {**valid, "ct": valid["ct"] + "="},  # padded
        {**valid, "ct": b64.encode(os.urandom(100))},  # not 256*k + 16 bytes
        {**valid, "ct": b64.encode(os.urandom(256 + 15))},
        {**valid, "ct": b64.encode(os.urandom(256 + 17))},
        {**valid, "ct": ""},
        {**valid, "ct": 42},
        {**valid, "seq": 0},
        {**valid, "seq": -1},
        {**valid, "seq": 2**63},
        {**valid, "seq": 1.5},
        {**valid, "seq": True},
        {**valid, "seg": -1},
        {**valid, "seg": 2**32},
        {**valid, "role": "X"},
        {**valid, "conv": valid["conv"][:-1]},
        {**valid, "inst": valid["inst"] + "AA"},
        {**valid, "extra": 1},
        {k: v for k, v in valid.items() if k != "ct"},
    ]


async def test_envelope_shape_errors(served: Server) -> None:
    async with Harness(served) as h:
        chat = await h.chat()
        assert chat.youth.sender is not None
        valid = chat.youth.sender.test_envelope().as_dict()
        for envelope in _mangled(valid):
            await chat.youth.send({"type": "envelope", "envelope": envelope})
            await expect_error(chat.youth, "bad_envelope")
        await chat.youth.send({"type": "envelope", "envelope": {**valid, "v": 2}})
        await expect_error(chat.youth, "unsupported_version")
        await chat.youth.send({"type": "envelope", "envelope": "not an object"})
        await expect_error(chat.youth, "bad_envelope")
        await chat.youth.send({"type": "envelope"})
        await expect_error(chat.youth, "bad_envelope")
        # The seq the valid one used was never consumed by the refused copies.
        await chat.youth.send({"type": "envelope", "envelope": valid})
        ack = await chat.youth.expect("ack")
        assert ack["seq"] == valid["seq"]
        assert "duplicate" not in ack
        chat.stored.append(await _received(chat.staff, valid))
        await h.assert_unharmed(chat)


async def _received(staff: Any, sent: dict[str, Any]) -> Any:
    await until(staff, lambda: any(e.ct == sent["ct"] for e in staff.envelopes))
    return next(e for e in staff.envelopes if e.ct == sent["ct"])


# ---------------------------------------------------------------------- size (R-5)


async def test_largest_envelope_passes_and_an_oversized_frame_closes_1009(served: Server) -> None:
    """R-5: the largest envelope passes; a frame over 64 KiB closes the socket with 1009."""
    async with Harness(served) as h:
        chat = await h.chat()
        assert chat.youth.sender is not None
        blocks = (CT_MAX_CHARS * 3 // 4 - 16) // 256
        biggest = chat.youth.sender.test_envelope(blocks=blocks)
        assert len(json.dumps({"type": "envelope", "envelope": biggest.as_dict()})) < 65536
        await chat.youth.send_envelope(biggest)
        await chat.youth.expect("ack")
        chat.stored.append(biggest)
        await until(chat.staff, lambda: biggest in chat.staff.envelopes)

        await chat.youth.send_raw("x" * (64 * 1024 + 1))
        _, code = await frames_until_closed(chat.youth)
        assert code == 1009
        await h.assert_unharmed(chat)


# ---------------------------------------------------------------------- origins (R-1, R-2)


async def _refused(url: str, **kw: Any) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, open_timeout=10, **kw):
            pass
    return refused.value.response.status_code


async def test_upgrades_from_foreign_or_missing_origins_are_refused(served: Server) -> None:
    """R-1, R-2: a foreign, null or missing Origin, and a staff socket without a valid session,
    are refused with 403 before accept."""
    async with Harness(served) as h:
        chat = await h.chat()
        assert chat.staff.credentials is not None
        cookie = {"Cookie": f"{chat.staff.credentials.cookie_name}={chat.staff.credentials.cookie}"}
        for path in ("/ws/youth", "/ws/staff"):
            url = _ws(served, path)
            assert await _refused(url, origin="https://evil.example") == 403  # type: ignore[arg-type]
            assert await _refused(url, origin="null") == 403  # type: ignore[arg-type]
            assert await _refused(url) == 403  # no Origin header at all
            assert (
                await _refused(url, origin="https://evil.example", additional_headers=cookie)  # type: ignore[arg-type]
                == 403
            )
        staff_url, origin = _ws(served, "/ws/staff"), served.base_url
        assert await _refused(staff_url, origin=origin) == 403  # type: ignore[arg-type]
        bogus = {"Cookie": f"{chat.staff.credentials.cookie_name}={'A' * 43}"}
        assert await _refused(staff_url, origin=origin, additional_headers=bogus) == 403  # type: ignore[arg-type]
        await h.assert_unharmed(chat)


# ---------------------------------------------------------------------- floods (R-6, R-7)


async def test_frame_rate_limit_errors_then_closes(rate_limited_server: Server) -> None:
    """R-6: over the frames-per-minute limit: an error frame, then a close."""
    async with Harness(rate_limited_server) as h:
        chat = await h.chat(envelopes=0)  # the youth has sent one frame: join
        assert chat.youth.sender is not None
        allowed = [chat.youth.sender.test_envelope() for _ in range(19)]
        for envelope in allowed:
            await chat.youth.send_envelope(envelope)
        for envelope in allowed:
            assert (await chat.youth.expect("ack"))["seq"] == envelope.seq
        chat.stored += allowed
        await until(chat.staff, lambda: all(e in chat.staff.envelopes for e in allowed))

        over = chat.youth.sender.test_envelope()
        await chat.youth.send_envelope(over)  # frame 21
        frames, code = await frames_until_closed(chat.youth)
        assert [f["type"] for f in frames if f["type"] != "position"] == ["error"]
        assert frames[-1]["code"] == "rate_limited"
        assert code == 1008
        await h.assert_unharmed(chat)  # ``over`` was not stored
        assert over not in chat.staff.envelopes


async def test_join_flood_gets_try_again_later(join_limited_server: Server) -> None:
    """R-7: too many joins from one client bucket are told to try again later."""
    async with Harness(join_limited_server) as h:
        chat = await h.chat()  # join 1
        nobody_speaks = unique_language()
        for _ in range(2):  # joins 2 and 3 wait in a queue nobody serves
            await (await h.youth()).join(language=nobody_speaks)
        fourth = await h.youth()
        await fourth.send(
            {"type": "join", "triage": {"language": "sv", "kind": "youth", "danger_now": False}}
        )
        frames, code = await frames_until_closed(fourth)
        assert [f["type"] for f in frames] == ["error"]  # no ticket
        assert frames[0]["code"] == "too_many_joins"
        retry_after = frames[0]["retry_after"]
        assert isinstance(retry_after, int)
        assert 1 <= retry_after <= 4
        assert code == 1013
        await asyncio.sleep(retry_after)  # the window (3 s here) lets joins in again
        await h.assert_unharmed(chat)


async def test_full_queue_is_told_honestly(small_queue_server: Server) -> None:
    """R-7: a full queue says "queue full": never a 5xx, never a silent wait."""
    async with Harness(small_queue_server) as h:
        chat = await h.chat()  # paired: no longer waiting
        nobody_speaks = unique_language()
        waiting = [await h.youth() for _ in range(2)]
        for youth in waiting:
            await youth.join(language=nobody_speaks)
        third = await h.youth()
        await third.send(
            {"type": "join", "triage": {"language": "sv", "kind": "youth", "danger_now": False}}
        )
        frames, code = await frames_until_closed(third)
        assert [f["type"] for f in frames] == ["error"]
        assert frames[0]["code"] == "queue_full"
        assert "112" in frames[0]["message"]  # other ways to get help, never a silent wait
        assert code == 1013
        # The two in the queue are unaffected and can leave; then there is room again.
        await waiting[0].expect("position")
        await waiting[0].send({"type": "leave"})
        await waiting[0].expect("left")
        await h.assert_unharmed(chat)


async def test_lone_surrogates_are_refused_not_fatal(served: Server) -> None:
    """JSON may escape a lone surrogate (``"\\ud800"``); it is no text and cannot be encoded
    back. Anything that echoes it in an error frame must not take the socket's writer down."""
    lone = "\\ud800"
    async with Harness(served) as h:
        chat = await h.chat()
        assert chat.youth.sender is not None
        valid = chat.youth.sender.test_envelope().as_dict()
        for field in ("conv", "inst", "role", "ct"):
            raw = json.dumps({"type": "envelope", "envelope": {**valid, field: "X"}})
            await chat.youth.send_raw(raw.replace('"X"', f'"{lone}"'))
            await expect_error(chat.youth, "bad_json")
        for client in (chat.youth, chat.staff):
            raws = [
                f'{{"type": "sync", "conv": "{chat.conv}", "have": [{{"seg": 0, "role": "Y", '
                f'"inst": "{lone}", "seq": 1}}]}}',
                f'{{"type": "{lone}"}}',
                f'{{"type": "typing", "conv": "{lone}", "typing": true}}',
            ]
            for raw in raws:
                await client.send_raw(raw)
                frame = await client.expect("error")
                assert frame["code"] == "bad_json", frame
        await chat.staff.send_raw(
            f'{{"type": "close", "conv": "{chat.conv}", "tags": {{"topic": "{lone}"}}}}'
        )
        await expect_error(chat.staff, "bad_json")
        await exchange(chat, 1)  # both sockets still relay
        await h.assert_unharmed(chat)


async def test_one_address_holds_a_bounded_number_of_sockets(few_sockets_server: Server) -> None:
    """Sockets of both kinds count together per address; a closed one frees its slot."""
    srv = few_sockets_server
    async with Harness(srv) as h:
        chat = await h.chat()  # a console and a young person: two of the three
        third = await h.youth()
        fourth = await h.youth()
        frames, code = await frames_until_closed(fourth)
        assert code == 1013
        assert [f["code"] for f in frames] == ["too_many_connections"]
        await third.close()
        fifth = await h.youth()  # the third's slot is free again
        assert await fifth.join(language=chat.language)  # it got a ticket
        await exchange(chat, 1)  # the open chat never noticed
