"""Staying logged in (issue 9): an on-duty console's heartbeats keep its session from idling
out; before the absolute limit it is warned, and a password + TOTP re-authentication (CSRF-
checked, audited) renews the same session, so the console keeps its socket and its chats."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.models import AuditEntry
from tests.conftest import Server
from tests.support import Harness, call, new_staff, next_code, shared_server

#: Idle after 4 s, 30 s in all, warned 25 s before: a console is warned at once.
short = shared_server(
    ("sqlite",),
    VH_SESSION_IDLE_SECONDS="4",
    VH_SESSION_ABSOLUTE_SECONDS="30",
    VH_SESSION_WARN_SECONDS="25",
)


async def _audit_actions(server: Server, staff_id: str) -> list[str]:
    engine = make_engine(Settings(mode="test", database_url=server.database.url))
    try:
        async with make_sessionmaker(engine)() as session:
            query = select(AuditEntry.action).where(AuditEntry.staff_id == staff_id)
            return list((await session.execute(query)).scalars())
    finally:
        await engine.dispose()


async def test_a_console_on_duty_outlives_the_idle_timeout_and_reauth_renews_it(
    short: Server,
) -> None:
    """R-11: A console on duty outlives the idle timeout and reauth renews it."""
    account = await new_staff(short)
    async with Harness(short) as h:
        console, _ = await h.console(account)
        await console.duty(True)
        credentials = console.credentials
        assert credentials is not None
        warned = await console.expect("session_expiring", timeout=10)
        first_expiry = warned["expires_at"]
        assert first_expiry <= time.time() + 30

        # No CSRF token, or a wrong code: refused, nothing renewed.
        body = {"password": account.password, "totp": "000000"}
        status, _ = await call(short, "POST", "/staff/api/reauth", body, credentials, csrf=False)
        assert status == 403
        status, answer = await call(short, "POST", "/staff/api/reauth", body, credentials)
        assert (status, answer["error"]["code"]) == (401, "not_authenticated")
        status, answer = await call(short, "POST", "/staff/api/reauth", {}, credentials)
        assert (status, answer["error"]["code"]) == (422, "invalid_request")

        body = {"password": account.password, "totp": await next_code(account)}
        status, answer = await call(short, "POST", "/staff/api/reauth", body, credentials)
        assert status == 200, answer
        assert answer["expires_at"] > first_expiry
        assert "staff.reauth" in await _audit_actions(short, account.staff_id)
        # A re-authentication is a fresh login (SECURITY R-25): its proof renews the device.
        assert console.device is not None
        renew = {"fresh_login": answer["fresh_login"]}
        path = f"/staff/api/devices/{console.device.device_id}/renew"
        status, renewed = await call(short, "POST", path, renew, credentials)
        assert status == 200, renewed

        # The console sends nothing for longer than the idle timeout, and stays.
        await asyncio.sleep(8)
        status, _ = await call(short, "GET", "/staff/api/me", None, credentials)
        assert status == 200
        assert all(f.get("code") != "logged_out" for f in console.inbox)
        assert (await console.duty(True))["on"] is True  # the socket is still open
