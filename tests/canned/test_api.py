"""The canned replies API over HTTP on a real server (SQLite and PostgreSQL): who may do what,
validation, conflicts, and the audit log."""

from __future__ import annotations

import json
import secrets
from typing import Any

from app.client.api import Credentials
from tests.conftest import Server
from tests.expiry.world import rows
from tests.support import call, new_staff, shared_server, staff_login

server = shared_server()

LIST = "/staff/api/canned-replies"
ADMIN = "/staff/api/admin/canned-replies"


def _title() -> str:
    return f"t{secrets.token_hex(4)}"


async def _login(server: Server, role: str) -> Credentials:
    return await staff_login(server, await new_staff(server, role=role))


async def _audit(server: Server, action: str, staff_id: str | None = None) -> list[Any]:
    found = await rows(server, "SELECT staff_id, detail FROM audit_log WHERE action = :a", a=action)
    return [(who, json.loads(detail)) for who, detail in found]


async def test_admins_create_edit_and_delete_each_audited(server: Server) -> None:
    admin = await _login(server, "admin")
    title = _title()
    body = {"language": "sv", "title": f"  {title} ", "body": "Hej!\r\nHur mår du?"}
    status, made = await call(server, "POST", ADMIN, body, admin)
    assert status == 201, made
    assert (made["language"], made["title"], made["body"]) == ("sv", title, "Hej!\nHur mår du?")
    assert made["updated_by"] == "Sara"
    reply_id = made["id"]

    status, listed = await call(server, "GET", f"{LIST}?language=sv", None, admin)
    assert status == 200
    assert [r for r in listed["replies"] if r["id"] == reply_id] == [made]
    assert {"id": "ar", "label": "العربية"} in listed["languages"]
    status, english = await call(server, "GET", f"{LIST}?language=en", None, admin)
    assert reply_id not in {r["id"] for r in english["replies"]}

    change = {"language": "en", "title": title + "x", "body": "Hello"}
    status, changed = await call(server, "PUT", f"{ADMIN}/{reply_id}", change, admin)
    assert status == 200, changed
    assert (changed["id"], changed["language"], changed["body"]) == (reply_id, "en", "Hello")

    status, _ = await call(server, "DELETE", f"{ADMIN}/{reply_id}", None, admin)
    assert status == 204
    status, again = await call(server, "DELETE", f"{ADMIN}/{reply_id}", None, admin)
    assert (status, again["error"]["code"]) == (404, "not_found")
    status, again = await call(server, "PUT", f"{ADMIN}/{reply_id}", change, admin)
    assert (status, again["error"]["code"]) == (404, "not_found")

    mine = [
        (action, detail)
        for action in ("canned.created", "canned.updated", "canned.deleted")
        for who, detail in await _audit(server, action)
        if detail["id"] == reply_id and who == admin.staff_id
    ]
    assert mine == [
        ("canned.created", {"id": reply_id, "language": "sv", "title": title}),
        ("canned.updated", {"id": reply_id, "language": "en", "title": title + "x"}),
        ("canned.deleted", {"id": reply_id, "language": "en", "title": title + "x"}),
    ]
    # The audit names the reply, never its text.
    assert "Hur mår" not in str(await rows(server, "SELECT detail FROM audit_log"))


async def test_who_may_do_what(server: Server) -> None:
    admin = await _login(server, "admin")
    status, made = await call(
        server, "POST", ADMIN, {"language": "sv", "title": _title(), "body": "b"}, admin
    )
    assert status == 201
    item = f"{ADMIN}/{made['id']}"
    change = {"language": "sv", "title": _title(), "body": "changed"}

    assert (await call(server, "GET", LIST))[0] == 401
    for method, path, body in (
        ("POST", ADMIN, change),
        ("PUT", item, change),
        ("DELETE", item, None),
    ):
        status, answer = await call(server, method, path, body)
        assert (status, answer["error"]["code"]) == (401, "not_authenticated"), method
    for role in ("counsellor", "supervisor"):
        creds = await _login(server, role)
        status, listed = await call(server, "GET", LIST, None, creds)
        assert status == 200
        assert made["id"] in {r["id"] for r in listed["replies"]}
        for method, path, body in (
            ("POST", ADMIN, change),
            ("PUT", item, change),
            ("DELETE", item, None),
        ):
            status, answer = await call(server, method, path, body, creds)
            assert (status, answer["error"]["code"]) == (403, "forbidden"), (role, method)
        # Refused before the body or the id is looked at: nothing is learnt from a 422.
        for method, path in (("POST", ADMIN), ("PUT", f"{ADMIN}/0"), ("DELETE", f"{ADMIN}/x")):
            status, answer = await call(server, method, path, {}, creds)
            assert (status, answer["error"]["code"]) == (403, "forbidden"), (role, method)
    # An admin too needs the session's CSRF token.
    status, answer = await call(server, "POST", ADMIN, change, admin, csrf=False)
    assert (status, answer["error"]["code"]) == (403, "forbidden")
    status, answer = await call(server, "DELETE", item, None, admin, csrf=False)
    assert status == 403
    status, listed = await call(server, "GET", LIST, None, admin)
    assert [r["body"] for r in listed["replies"] if r["id"] == made["id"]] == ["b"]


async def test_bad_replies_and_duplicate_titles_are_refused(server: Server) -> None:
    admin = await _login(server, "admin")
    title = _title()
    status, made = await call(
        server, "POST", ADMIN, {"language": "sv", "title": title, "body": "b"}, admin
    )
    assert status == 201

    for body, field in (
        ({"language": "klingon", "title": _title(), "body": "b"}, "language"),
        ({"language": "sv", "title": "", "body": "b"}, "title"),
        ({"language": "sv", "title": "x" * 41, "body": "b"}, "title"),
        ({"language": "sv", "title": _title(), "body": "  "}, "body"),
        ({"language": "sv", "title": _title(), "body": "x" * 2001}, "body"),
    ):
        status, answer = await call(server, "POST", ADMIN, body, admin)
        assert status == 422, body
        assert (answer["error"]["code"], answer["error"]["field"]) == ("invalid_request", field)
    status, answer = await call(server, "POST", ADMIN, {"language": "sv", "title": "a"}, admin)
    assert (status, answer["error"]["code"]) == (422, "invalid_request")
    status, answer = await call(server, "GET", f"{LIST}?language=klingon", None, admin)
    assert (status, answer["error"]["code"]) == (422, "invalid_request")
    status, answer = await call(
        server, "PUT", f"{ADMIN}/0", {"language": "sv", "title": "a", "body": "b"}, admin
    )
    assert status == 422

    # The same title in the same language, in any case, is one shortcut: 409.
    same = {"language": "sv", "title": title.upper(), "body": "other"}
    status, answer = await call(server, "POST", ADMIN, same, admin)
    assert (status, answer["error"]["code"]) == (409, "duplicate_title")
    status, other = await call(server, "POST", ADMIN, {**same, "title": _title()}, admin)
    assert status == 201
    status, answer = await call(server, "PUT", f"{ADMIN}/{other['id']}", same, admin)
    assert (status, answer["error"]["code"]) == (409, "duplicate_title")
    # In another language the title is free; renaming a reply to its own title is no clash.
    assert (await call(server, "POST", ADMIN, {**same, "language": "en"}, admin))[0] == 201
    keep = {"language": "sv", "title": title, "body": "new body"}
    assert (await call(server, "PUT", f"{ADMIN}/{made['id']}", keep, admin))[0] == 200
