"""Role enforcement for every route and every staff socket frame that needs a role (issue 11).

``ACCESS`` names, for every route the app serves, who may use it. The first test fails when a
route is added without a line here, so a new endpoint cannot ship without a decision. The second
calls every staff route as anonymous, counsellor, supervisor and admin: who may not use it is
refused before anything else happens (401 anonymous, 403 signed-in; empty bodies and made-up ids
prove that no body is read first), and who may is never refused for their role. Pages are shells
without data for everyone (their data comes from the APIs), except those rendered with their data
(statistics, audit log), which refuse like an API but with a page; the socket is refused without a
session and its supervisor frames are refused to counsellors.
"""

from __future__ import annotations

import asyncio
import os
import urllib.error
import urllib.request
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from app.client.api import Credentials
from tests.conftest import Server
from tests.support import Harness, expect_error, new_staff, shared_server, staff_login

server = shared_server(("sqlite",))

PUBLIC, PAGE, STAFF, SUPERVISOR, ADMIN = "public", "page", "staff", "supervisor", "admin"
ROLES = ("counsellor", "supervisor", "admin")
ALLOWED = {
    STAFF: {"counsellor", "supervisor", "admin"},
    SUPERVISOR: {"supervisor", "admin"},
    ADMIN: {"admin"},
}

#: Every route: (method, path) → who may use it. WebSocket routes have method "WS".
ACCESS: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/.well-known/security.txt"): PUBLIC,
    ("GET", "/api/keys"): PUBLIC,
    ("POST", "/api/youth/return"): PUBLIC,
    ("POST", "/api/youth/return-code"): PUBLIC,
    ("POST", "/api/youth/delete"): PUBLIC,
    ("GET", "/api/triage/questions"): PUBLIC,
    ("POST", "/api/youth/leave"): PUBLIC,
    ("POST", "/api/youth/feedback"): PUBLIC,
    ("WS", "/ws/youth"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/chat"): PUBLIC,
    ("GET", "/{lang:vh_lang}/"): PUBLIC,
    ("GET", "/{lang:vh_lang}/chat"): PUBLIC,
    ("GET", "/{lang:vh_lang}/{slug}"): PUBLIC,
    ("POST", "/staff/api/login"): PUBLIC,
    ("GET", "/staff"): PAGE,
    ("GET", "/staff/board"): PAGE,
    ("WS", "/ws/staff"): STAFF,
    ("GET", "/staff/api/me"): STAFF,
    ("POST", "/staff/api/logout"): STAFF,
    ("POST", "/staff/api/reauth"): STAFF,
    ("POST", "/staff/api/devices"): STAFF,
    ("GET", "/staff/api/devices"): STAFF,
    ("GET", "/staff/api/devices/{device_id}"): STAFF,
    ("POST", "/staff/api/devices/{device_id}/renew"): STAFF,
    ("GET", "/staff/api/colleagues"): STAFF,
    ("GET", "/staff/api/queue-served"): STAFF,
    ("GET", "/staff/api/conversations/{conv_id}/summary"): STAFF,
    ("GET", "/staff/api/close-tags"): STAFF,
    ("POST", "/staff/api/conversations/{conv_id}/delete"): SUPERVISOR,
    ("GET", "/staff/api/board"): SUPERVISOR,
    ("POST", "/staff/api/alerts/ack"): SUPERVISOR,
    ("GET", "/metrics"): ADMIN,
    ("GET", "/staff/api/canned-replies"): STAFF,
    ("POST", "/staff/api/admin/canned-replies"): ADMIN,
    ("PUT", "/staff/api/admin/canned-replies/{id}"): ADMIN,
    ("DELETE", "/staff/api/admin/canned-replies/{id}"): ADMIN,
    ("GET", "/staff/admin/replies"): PAGE,
    ("GET", "/staff/stats"): SUPERVISOR,
    ("GET", "/staff/audit"): SUPERVISOR,
    ("GET", "/staff/api/stats.csv"): SUPERVISOR,
    ("GET", "/staff/api/stats/tags.csv"): SUPERVISOR,
    ("GET", "/staff/api/stats/feedback.csv"): SUPERVISOR,
    ("GET", "/staff/api/audit"): SUPERVISOR,
    ("GET", "/staff/admin/settings"): PAGE,
    ("GET", "/staff/admin"): PAGE,
    ("GET", "/staff/api/admin/staff"): ADMIN,
    ("GET", "/staff/api/admin/staff/options"): ADMIN,
    ("POST", "/staff/api/admin/staff"): ADMIN,
    ("PATCH", "/staff/api/admin/staff/{username}"): ADMIN,
    ("POST", "/staff/api/admin/staff/{username}/disable"): ADMIN,
    ("POST", "/staff/api/admin/staff/{username}/enable"): ADMIN,
    ("POST", "/staff/api/admin/staff/{username}/reset-password"): ADMIN,
    ("POST", "/staff/api/admin/staff/{username}/reset-totp"): ADMIN,
    ("GET", "/staff/api/admin/staff/{username}/devices"): ADMIN,
    ("POST", "/staff/api/admin/staff/{username}/devices/{device_id}/revoke"): ADMIN,
    ("POST", "/staff/api/admin/staff/{username}/enrol-code"): ADMIN,
    ("GET", "/staff/api/admin/settings"): ADMIN,
    ("GET", "/staff/api/admin/settings/{name}"): ADMIN,
    ("PUT", "/staff/api/admin/settings/{name}"): ADMIN,
    ("DELETE", "/staff/api/admin/settings/{name}"): ADMIN,
}

#: Staff socket frames that need more than a session: frame type → who may send it.
FRAMES: dict[str, str] = {"watch_board": SUPERVISOR}

#: A made-up value for each path parameter: well-formed where a pattern applies, unknown.
PARAMS = {
    "conv_id": "A" * 22,
    "device_id": "A" * 22,
    "staff_id": "A" * 22,
    "id": "1",
    "name": "hours",
    "username": "nobody",
}


def served_routes() -> set[tuple[str, str]]:
    os.environ.setdefault("VH_MODE", "test")
    from app.main import create_app

    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            if hasattr(route, "original_router"):  # an included router
                walk(route.original_router.routes, prefix + route.include_context.prefix)
            elif type(route).__name__ == "Mount":
                continue  # /static: files
            elif type(route).__name__ in ("APIWebSocketRoute", "WebSocketRoute"):
                found.add(("WS", prefix + route.path))
            else:
                for method in route.methods - {"HEAD"}:
                    found.add((method, prefix + route.path))

    walk(create_app().routes, "")
    return {r for r in found if not r[1].startswith(("/docs", "/redoc", "/openapi"))}


def test_every_route_has_a_decision() -> None:
    """R-12: Every route has a decision."""
    served = served_routes()
    assert served - ACCESS.keys() == set(), "routes without a line in ACCESS"
    assert ACCESS.keys() - served == set(), "lines in ACCESS for routes that no longer exist"


def _request(srv: Server, method: str, path: str, who: Credentials | None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json", "Origin": srv.base_url}
    if who is not None:
        headers["Cookie"] = f"{who.cookie_name}={who.cookie}"
        headers["X-CSRF-Token"] = who.csrf_token
    request = urllib.request.Request(  # noqa: S310 - the test's own server
        srv.base_url + path.format(**PARAMS),
        data=b"{}" if method in ("POST", "PUT", "PATCH") else None,
        headers=headers,
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


@pytest.fixture(scope="module")
def people(server: Server) -> dict[str, Credentials]:
    async def log_in() -> dict[str, Credentials]:
        return {
            role: await staff_login(server, await new_staff(server, role=role)) for role in ROLES
        }

    return asyncio.run(log_in())


@pytest.mark.parametrize(
    "route",
    # Logging out would end the shared sessions: test_logout_needs_a_session covers it.
    sorted(
        r
        for r, level in ACCESS.items()
        if level != PUBLIC and r[0] != "WS" and r != ("POST", "/staff/api/logout")
    ),
    ids=lambda r: f"{r[0]} {r[1]}",
)
def test_each_role_is_let_in_or_refused(
    server: Server, people: dict[str, Credentials], route: tuple[str, str]
) -> None:
    """R-12: Each role is let in or refused."""
    method, path = route
    level = ACCESS[route]
    status, body = _request(server, method, path, None)
    if level == PAGE:
        assert status == 200
        assert body.lstrip().startswith(b"<!doctype html>")
        for role, who in people.items():
            seen = _request(server, method, path, who)
            assert seen == (status, body), f"{role} sees another page than anonymous"
        return
    assert status == 401, (status, body)
    for role, who in people.items():
        status, body = _request(server, method, path, who)
        if role in ALLOWED[level]:
            assert status not in (401, 403), (role, status, body)
        else:
            assert status == 403, (role, status, body)
            if not body.lstrip().startswith(b"<"):  # pages refuse with a page of their own
                assert b'"forbidden"' in body, body


def test_logout_needs_a_session(server: Server) -> None:
    status, _ = _request(server, "POST", "/staff/api/logout", None)
    assert status == 401

    async def each_role() -> None:
        for role in ROLES:
            who = await staff_login(server, await new_staff(server, role=role))
            assert (await asyncio.to_thread(_request, server, "POST", "/staff/api/logout", who))[
                0
            ] == 204
            status, _ = await asyncio.to_thread(_request, server, "GET", "/staff/api/me", who)
            assert status == 401, f"{role}'s session outlived logout"

    asyncio.run(each_role())


async def test_the_staff_socket_needs_a_session_and_roles_for_frames(
    server: Server, people: dict[str, Credentials]
) -> None:
    """R-2: The staff socket needs a session and roles for frames."""
    url = server.base_url.replace("http", "ws", 1) + "/ws/staff"
    name = people["counsellor"].cookie_name
    for cookie in ({}, {"Cookie": f"{name}={'x' * 43}"}):
        with pytest.raises(InvalidStatus) as refused:
            await connect(url, origin=Origin(server.base_url), additional_headers=cookie)
        assert refused.value.response.status_code == 403  # refused before accept
    async with Harness(server) as h:
        for role in ROLES:
            client, hello = await h.console(await new_staff(server, role=role))
            assert hello["type"] == "hello"
            for frame, level in FRAMES.items():
                await client.send({"type": frame})
                if role in ALLOWED[level]:
                    reply = await client.recv(5)
                    assert reply["type"] != "error", (role, frame, reply)
                else:
                    error = await expect_error(client, "forbidden")
                    assert error["code"] == "forbidden", (role, frame)
