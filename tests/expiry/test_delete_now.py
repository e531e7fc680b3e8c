""" "Delete this conversation now" (SAFETY S-18) on a real server, SQLite and PostgreSQL: from
the chat, with the chat's ticket after it ended, with a return code, and by a supervisor."""

from __future__ import annotations

import json
from pathlib import Path

from app.crypto import returncode
from app.kit import b64
from tests.conftest import Server
from tests.expiry.world import Ended, chat_with_every_key, raw_sqlite, rows
from tests.support import Harness, call, new_staff, staff_login

CONV_TABLES = ("envelopes", "segments", "return_wraps")


async def _gone(server: Server, ended: Ended) -> None:
    """Nothing of the conversation is left: no row, none of its bytes, no return-code answer."""
    for table in CONV_TABLES:
        query = f"SELECT count(*) FROM {table} WHERE conv_id = :c"  # noqa: S608 - ours
        assert (await rows(server, query, c=ended.conv))[0][0] == 0, table
    query = "SELECT count(*) FROM conversations WHERE id = :c"
    assert (await rows(server, query, c=ended.conv))[0][0] == 0
    assert (await rows(server, "SELECT count(*) FROM tickets"))[0][0] == 0
    if server.database.kind == "sqlite":
        data = raw_sqlite(server)
        for value in ended.stored:
            assert value.encode() not in data
    locator = b64.encode(returncode.locator(ended.code))
    status, body = await call(server, "POST", "/api/youth/return", {"locator": locator})
    assert status == 404, body
    # The visit is still in the anonymous statistics.
    ((served,),) = await rows(server, "SELECT sum(served) FROM queue_stats")
    assert served == 1


async def test_the_young_person_deletes_from_the_chat(server: Server, tmp_path: Path) -> None:
    async with Harness(server) as h:
        ended = await chat_with_every_key(h, server, tmp_path, close=False)
        await ended.youth.send({"type": "delete"})
        assert (await ended.youth.expect("deleted"))["conv"] == ended.conv
        closed = await ended.youth.expect("closed")
        assert closed["reason"] == "deleted"
        told = await ended.staff.expect("closed")
        assert (told["conv"], told["by"], told["reason"]) == (ended.conv, "youth", "deleted")
    await _gone(server, ended)


async def test_deleting_after_the_chat_with_its_ticket(server: Server, tmp_path: Path) -> None:
    async with Harness(server) as h:
        ended = await chat_with_every_key(h, server, tmp_path)
        assert (await ended.staff.expect("closed"))["reason"] == "closed"
        status, body = await call(
            server, "POST", "/api/youth/delete", {"ticket": ended.youth.ticket}
        )
        assert (status, body) == (200, {"deleted": 1})
        told = await ended.staff.expect("closed")  # the console still shows the ended chat
        assert (told["conv"], told["reason"]) == (ended.conv, "deleted")
        status, body = await call(
            server, "POST", "/api/youth/delete", {"ticket": ended.youth.ticket}
        )
        assert status == 404, body
    await _gone(server, ended)


async def test_deleting_with_the_return_code(server: Server, tmp_path: Path) -> None:
    async with Harness(server) as h:
        ended = await chat_with_every_key(h, server, tmp_path)
        locator = b64.encode(returncode.locator(ended.code))
        other = b64.encode(b"\x00" * 16)
        status, body = await call(
            server, "POST", "/api/youth/delete", {"locator": locator, "conv": other}
        )
        assert status == 404, body  # a conversation not filed under this code
        status, body = await call(server, "POST", "/api/youth/delete", {"locator": locator})
        assert (status, body) == (200, {"deleted": 1})
    await _gone(server, ended)


async def test_bad_deletion_requests_get_clear_errors(server: Server) -> None:
    locator = b64.encode(b"\x01" * 16)
    for bad in (
        {},
        {"ticket": locator, "locator": locator},
        {"conv": locator},
        {"ticket": "not-a-token"},
        {"locator": locator, "extra": 1},
    ):
        status, body = await call(server, "POST", "/api/youth/delete", bad)
        assert status == 422, bad
        assert body["error"]["code"] == "invalid_request"
    status, body = await call(server, "POST", "/api/youth/delete", {"locator": locator})
    assert status == 404
    assert body["error"]["code"] == "not_found"


async def test_a_supervisor_deletes_with_a_reason_and_it_is_audited(
    server: Server, tmp_path: Path
) -> None:
    async with Harness(server) as h:
        ended = await chat_with_every_key(h, server, tmp_path)
        path = f"/staff/api/conversations/{ended.conv}/delete"
        reason = {"reason": "asked by the young person on the phone"}
        status, body = await call(server, "POST", path, reason)
        assert status == 401, body
        counsellor = await staff_login(server, await new_staff(server))
        status, body = await call(server, "POST", path, reason, counsellor)
        assert status == 403, body
        supervisor_account = await new_staff(server, alias="Lena", role="supervisor")
        supervisor = await staff_login(server, supervisor_account)
        status, body = await call(server, "POST", path, reason, supervisor, csrf=False)
        assert status == 403, body
        status, body = await call(server, "POST", path, {"reason": "x"}, supervisor)
        assert status == 422, body
        status, body = await call(server, "POST", path, reason, supervisor)
        assert (status, body) == (200, {"deleted": 1})
        status, body = await call(server, "POST", path, reason, supervisor)
        assert status == 404, body
    await _gone(server, ended)
    audited = await rows(
        server, "SELECT staff_id, detail FROM audit_log WHERE action = 'conversation.deleted'"
    )
    assert [(s, json.loads(d)) for s, d in audited] == [
        (supervisor_account.staff_id, {"conversation_id": ended.conv, **reason})
    ]
