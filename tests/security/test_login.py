"""Staff login, sessions and logout over real HTTP (SECURITY R-3, R-9 … R-11, R-17)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from typing import Any

import httpx

from app.client import CounsellorClient
from app.client.api import Credentials
from app.config import Settings
from app.security.totp import current_code
from tests.conftest import Server, StaffAccount, _enrol_code
from tests.support import frames_until_closed, new_staff, next_code, shared_server

served = shared_server()

#: The server runs with VH_COOKIE_SECURE=false (plain http in tests); everything else as shipped.
SETTINGS = Settings(mode="test", cookie_secure=False)


async def _request(
    server: Server,
    method: str,
    path: str,
    *,
    cookie: str | None = None,
    origin: bool = True,
    **kw: Any,
) -> httpx.Response:
    """One request from a fresh client (no cookie jar: what is sent is what the test says)."""
    headers = dict(kw.pop("headers", {}))
    if origin:
        headers["Origin"] = server.base_url
    if cookie is not None:
        headers["Cookie"] = f"{SETTINGS.cookie_name}={cookie}"
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        return await client.request(method, path, headers=headers, **kw)


async def _login(
    server: Server, username: str, password: str, code: str, **kw: Any
) -> httpx.Response:
    body = {"username": username, "password": password, "totp": code}
    return await _request(server, "POST", "/staff/api/login", json=body, **kw)


async def _good_login(server: Server, account: StaffAccount) -> httpx.Response:
    response = await _login(server, account.username, account.password, await next_code(account))
    assert response.status_code == 200, response.text
    return response


def _session_cookie(response: httpx.Response) -> Any:
    jar = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return jar[SETTINGS.cookie_name]


def _wrong(code: str) -> str:
    return f"{(int(code) + 500_000) % 1_000_000:06d}"


# ---------------------------------------------------------------------- refusals


async def test_unknown_user_wrong_password_and_wrong_code_look_the_same(served: Server) -> None:
    """R-10: unknown user, wrong password and wrong code answer identically."""
    account = await new_staff(served)
    code = current_code(account.totp_secret, time.time())
    refusals = [
        await _login(served, "nobody-here", account.password, code),
        await _login(served, account.username, account.password + "x", code),
        await _login(served, account.username, account.password, _wrong(code)),
        await _login(served, account.username, account.password, "abcdef"),
    ]
    first = refusals[0]
    assert first.status_code == 401
    assert first.json() == {
        "error": {"code": "not_authenticated", "message": "wrong username, password or code"}
    }
    for refused in refusals:
        assert refused.status_code == first.status_code
        assert refused.content == first.content
        assert "set-cookie" not in refused.headers
    # None of those consumed anything: the right password and code still work.
    await _good_login(served, account)


async def test_an_accepted_code_cannot_be_used_again(served: Server) -> None:
    """R-9: An accepted code cannot be used again."""
    account = await new_staff(served)
    code = await next_code(account)
    assert (await _login(served, account.username, account.password, code)).status_code == 200
    again = await _login(served, account.username, account.password, code)
    assert again.status_code == 401
    assert "set-cookie" not in again.headers
    await _good_login(served, account)  # a newer code is accepted


async def test_sixth_bad_attempt_is_locked_out_with_retry_after(served: Server) -> None:
    """R-9: Sixth bad attempt is locked out with retry after."""
    account = await new_staff(served)
    other = await new_staff(served)
    code = current_code(account.totp_secret, time.time())
    for _ in range(5):
        refused = await _login(served, account.username, "wrong password 123", code)
        assert refused.status_code == 401
    locked = await _login(served, account.username, "wrong password 123", code)
    assert locked.status_code == 429
    retry_after = int(locked.headers["retry-after"])
    assert 1 <= retry_after <= 15 * 60 + 1
    assert locked.json()["error"]["code"] == "too_many_requests"
    # While locked even the right password and a fresh code are refused (checked before hashing).
    right = await _login(served, account.username, account.password, await next_code(account))
    assert right.status_code == 429
    assert "set-cookie" not in right.headers
    # The lock is per account: a colleague logs in as usual.
    await _good_login(served, other)
    # An unknown name is locked out alike, so the lock tells nothing about who exists.
    for _ in range(5):
        assert (await _login(served, "ghost", "wrong password 123", code)).status_code == 401
    assert (await _login(served, "ghost", "wrong password 123", code)).status_code == 429


async def test_login_from_a_foreign_origin_is_refused(served: Server) -> None:
    """R-1: Login from a foreign origin is refused."""
    account = await new_staff(served)
    body = {"username": account.username, "password": account.password, "totp": "123456"}
    for headers in ({"Origin": "https://evil.example"}, {}):
        refused = await _request(
            served, "POST", "/staff/api/login", origin=False, json=body, headers=headers
        )
        assert refused.status_code == 403
        assert "set-cookie" not in refused.headers


# ---------------------------------------------------------------------- cookies


async def test_session_cookie_flags(served: Server) -> None:
    """R-11: Session cookie flags."""
    account = await new_staff(served)
    response = await _good_login(served, account)
    assert len(response.headers.get_list("set-cookie")) == 1
    morsel = _session_cookie(response)
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "strict"
    assert morsel["path"] == "/"
    assert bool(morsel["secure"]) is SETTINGS.cookie_secure  # off only because tests use http
    assert int(morsel["max-age"]) == SETTINGS.session_absolute_seconds
    assert not morsel["domain"]  # host-only
    assert len(morsel.value) >= 43  # 256 random bits, base64url
    # With Secure on (production), the cookie carries the __Host- prefix.
    assert Settings(mode="test", cookie_secure=True).cookie_name.startswith("__Host-")
    assert response.json()["csrf_token"] not in response.headers["set-cookie"]


async def test_each_login_gets_a_new_session(served: Server) -> None:
    """R-11: Each login gets a new session."""
    account = await new_staff(served)
    first = await _good_login(served, account)
    old = _session_cookie(first).value
    # Logging in again while presenting the old cookie still issues a new one.
    second = await _login(
        served, account.username, account.password, await next_code(account), cookie=old
    )
    assert second.status_code == 200
    new = _session_cookie(second).value
    assert new != old
    assert second.json()["csrf_token"] != first.json()["csrf_token"]
    me = await _request(served, "GET", "/staff/api/me", cookie=new)
    assert me.status_code == 200
    assert me.json()["staff_id"] == account.staff_id


# ---------------------------------------------------------------------- logout


async def test_logout_needs_csrf_then_ends_the_session_and_its_sockets(served: Server) -> None:
    """R-3, R-11: logout needs the CSRF token, then ends the session and closes its sockets
    (1008)."""
    account = await new_staff(served)
    logged_in = await _good_login(served, account)
    cookie, csrf = _session_cookie(logged_in).value, logged_in.json()["csrf_token"]
    other_login = await _good_login(served, account)  # a second session of the same person
    credentials = Credentials(
        SETTINGS.cookie_name, cookie, csrf, account.staff_id, logged_in.json()["fresh_login"]
    )
    other = Credentials(
        SETTINGS.cookie_name,
        _session_cookie(other_login).value,
        other_login.json()["csrf_token"],
        account.staff_id,
        other_login.json()["fresh_login"],
    )
    console, bystander = CounsellorClient(served.base_url), CounsellorClient(served.base_url)
    console.enrol_code = await _enrol_code(served.database, account.staff_id)
    await console.connect(credentials)
    bystander.enrol_code = await _enrol_code(served.database, account.staff_id)
    await bystander.connect(other)
    await console.duty(True)
    assert (await bystander.expect("duty"))["on"] is True
    try:
        for headers, origin in [
            ({}, True),
            ({"X-CSRF-Token": "A" * 43}, True),
            ({"X-CSRF-Token": other.csrf_token}, True),  # another session's token
            ({"X-CSRF-Token": csrf}, False),  # no Origin
        ]:
            refused = await _request(
                served, "POST", "/staff/api/logout", cookie=cookie, headers=headers, origin=origin
            )
            assert refused.status_code == 403
        assert (await _request(served, "GET", "/staff/api/me", cookie=cookie)).status_code == 200

        started = time.monotonic()
        out = await _request(
            served, "POST", "/staff/api/logout", cookie=cookie, headers={"X-CSRF-Token": csrf}
        )
        assert out.status_code == 204
        gone = _session_cookie(out)
        assert gone.value == "" or int(gone["max-age"]) <= 0  # the browser drops it
        frames, code = await frames_until_closed(console, timeout=5)
        assert code == 1008
        assert time.monotonic() - started < 5
        assert [f["code"] for f in frames if f["type"] == "error"] == ["logged_out"]

        me = await _request(served, "GET", "/staff/api/me", cookie=cookie)
        assert me.status_code == 401
        # Logging out ended the shift, which every console of the account hears...
        assert (await bystander.expect("duty"))["on"] is False
        # ...and the other session is untouched: its console still answers.
        assert (await bystander.duty(False))["on"] is False
    finally:
        await asyncio.gather(console.close(), bystander.close(), return_exceptions=True)


async def test_me_without_a_session_is_401(served: Server) -> None:
    for cookie in (None, "", "A" * 43, "x" * 500):
        response = await _request(served, "GET", "/staff/api/me", cookie=cookie)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"


# ---------------------------------------------------------------------- 422


async def test_validation_errors_do_not_echo_submitted_values(served: Server) -> None:
    """R-17: Validation errors do not echo submitted values."""
    marker = "canary-7f3a9c1e-never-echo"
    bodies: list[dict[str, Any]] = [
        {"json": {"username": "someone", "password": marker}},  # totp missing
        {"json": {"username": "someone", "password": {"nested": marker}, "totp": "123456"}},
        {"json": {"username": "someone", "password": [marker], "totp": "123456"}},
        {"json": {"username": "someone", "password": marker * 50, "totp": "123456"}},  # too long
        {"json": {"username": "someone", "password": "p", "totp": "1", "extra": marker}},
        # A key the client made up may be a password typed in the wrong place: never echoed.
        {"json": {"username": "someone", "password": "p", "totp": "123456", marker: "x"}},
        {"json": {"username": marker * 3, "password": marker, "totp": marker}},
        {"content": b'{"username": "someone", "password": "' + marker.encode()},  # cut off
        {"content": marker.encode(), "headers": {"Content-Type": "application/json"}},
        {"json": [marker]},
    ]
    for body in bodies:
        response = await _request(served, "POST", "/staff/api/login", **body)
        assert response.status_code == 422, body
        assert marker not in response.text
        assert "canary" not in response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_request"
        assert set(response.json()) == {"error"}


async def test_an_oversized_body_is_refused_before_it_is_read(served: Server) -> None:
    """Every HTTP body is bounded (``VH_HTTP_MAX_BODY_BYTES``, 256 KiB): 413 ``too_large``."""
    big = b'{"username": "someone", "password": "' + b"x" * (300 * 1024) + b'", "totp": "1"}'
    for path in ("/staff/api/login", "/api/youth/return"):
        response = await _request(
            served, "POST", path, content=big, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413, path
        assert response.json()["error"]["code"] == "too_large"
        assert "content-security-policy" in response.headers  # the 413 is one of ours

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b"x" * 10_000

    response = await _request(
        served,
        "POST",
        "/staff/api/login",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    # Under the bound, the same endpoint answers as usual.
    small = {"username": "someone", "password": "x" * 100, "totp": "123456"}
    response = await _request(served, "POST", "/staff/api/login", json=small)
    assert response.status_code == 401
