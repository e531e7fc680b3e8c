"""Logins against real servers on each database (SECURITY R-9, R-10, issue 13 (1)-(3)):
racing logins cannot get past the lockout, a database writer cannot mint a session, and the
database keeps no typed name.

The server counts every password that reaches argon2 in ``vhouse_password_checks_total``,
read here from the internal metrics listener (``VH_METRICS_BIND``).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import urllib.error
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from app.client import device as device_mod
from app.client.device import DeviceKeys
from app.config import Settings
from app.db import make_engine, make_sessionmaker, transaction
from app.kit.ids import new_token
from app.models import LoginFailure, StaffSession
from tests.conftest import Server, database_of, free_port, stack_kinds, start_server
from tests.support import new_staff, next_code

SETTINGS = Settings(mode="test", cookie_secure=False)


@pytest.fixture(scope="module", params=stack_kinds())
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    """A server whose logins are never turned away as busy (so only the lockout decides), with
    several hashes at once (the race the review found), and its metrics listener's URL."""
    tmp: Path = tmp_path_factory.mktemp(f"login-{request.param}")
    port = free_port()
    with database_of(request.param, tmp) as database:
        srv = start_server(
            database,
            tmp,
            VH_METRICS_BIND=f"127.0.0.1:{port}",
            VH_LOGIN_QUEUE_MAX="1000",
            VH_LOGIN_HASH_CONCURRENCY="4",
        )
        try:
            yield srv, f"http://127.0.0.1:{port}"
        finally:
            srv.stop()


async def _checks(metrics_url: str) -> float:
    async with httpx.AsyncClient(timeout=30) as client:
        text = (await client.get(metrics_url + "/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "vhouse_password_checks_total":
                return sample.value
    raise AssertionError("vhouse_password_checks_total is not exported")


async def _login(
    client: httpx.AsyncClient, server: Server, username: str, password: str, code: str
) -> httpx.Response:
    return await client.post(
        "/staff/api/login",
        json={"username": username, "password": password, "totp": code},
        headers={"Origin": server.base_url},
    )


def _client(server: Server) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    return httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits)


async def test_100_concurrent_wrong_logins_reach_the_hash_at_most_5_times(
    served: tuple[Server, str],
) -> None:
    """R-9, R-27: each attempt is reserved (counted) before its password is hashed."""
    server, metrics_url = served
    account = await new_staff(server)
    before = await _checks(metrics_url)
    code = account.code()
    async with _client(server) as client:
        answers = await asyncio.gather(
            *(
                _login(client, server, account.username, f"wrong {i:03d}xyzw", code)
                for i in range(100)
            )
        )
    statuses = Counter(a.status_code for a in answers)
    reached = await _checks(metrics_url) - before
    assert reached <= SETTINGS.login_failures_allowed, (reached, statuses)
    assert statuses == {401: 5, 429: 95}, statuses
    locked = next(a for a in answers if a.status_code == 429)
    assert locked.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(locked.headers["retry-after"]) <= SETTINGS.login_failure_window_seconds + 1
    # The right password and a fresh code are not even checked while the name is locked.
    async with _client(server) as client:
        right = await _login(
            client, server, account.username, account.password, await next_code(account)
        )
    assert right.status_code == 429
    assert await _checks(metrics_url) - before == reached


async def test_a_session_row_written_into_the_database_does_not_authenticate(
    served: tuple[Server, str],
) -> None:
    """R-25: Issue 13 (1): session digests are keyed with the server secret, so a database writer
    who inserts the plain SHA-256 of a cookie of their choice (``created_at`` now, a "fresh
    login") gets neither a session nor a device."""
    server, _ = served
    account = await new_staff(server)
    cookie, csrf, now = new_token(32), new_token(32), time.time()
    engine = make_engine(Settings(mode="test", database_url=server.database.url))
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            session.add(
                StaffSession(
                    token_digest=hashlib.sha256(cookie.encode()).hexdigest(),
                    staff_id=account.staff_id,
                    csrf_token=csrf,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        jar = {"Cookie": f"{SETTINGS.cookie_name}={cookie}", "Origin": server.base_url}
        async with _client(server) as client:
            me = await client.get("/staff/api/me", headers=jar)
        assert me.status_code == 401
        assert me.json()["error"]["code"] == "not_authenticated"
        with pytest.raises(urllib.error.HTTPError) as refused:
            await asyncio.to_thread(
                device_mod.register,
                server.base_url,
                f"{SETTINGS.cookie_name}={cookie}",
                csrf,
                DeviceKeys.generate(),
                fresh_login=None,
                enrol_code=None,
            )
        refused.value.close()
        assert refused.value.code == 401

        # A real login works, and what is stored of its cookie is not the cookie's SHA-256.
        async with _client(server) as client:
            ok = await _login(
                client, server, account.username, account.password, await next_code(account)
            )
            assert ok.status_code == 200, ok.text
            real = ok.cookies[SETTINGS.cookie_name]
            assert (await client.get("/staff/api/me")).status_code == 200
        async with transaction(make_sessionmaker(engine)) as session:
            query = select(StaffSession.token_digest).where(
                StaffSession.staff_id == account.staff_id
            )
            stored = set((await session.execute(query)).scalars())
        assert len(stored) == 2
        assert hashlib.sha256(real.encode()).hexdigest() not in stored
    finally:
        await engine.dispose()


async def test_the_database_keeps_no_typed_username(served: tuple[Server, str]) -> None:
    """Issue 13 (3): a password typed into the username field is kept neither in the database
    nor in the log."""
    server, _ = served
    typed = f"Oops-MyPassw0rd-{secrets.token_hex(4)}"
    async with _client(server) as client:
        refused = await _login(client, server, typed, "whatever 12345", "000000")
    assert refused.status_code == 401
    engine = make_engine(Settings(mode="test", database_url=server.database.url))
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            rows = (await session.execute(select(LoginFailure))).scalars().all()
    finally:
        await engine.dispose()
    assert rows
    for row in rows:
        assert len(row.name_digest) == 64
        int(row.name_digest, 16)
        assert typed.lower() not in row.name_digest
    assert typed.lower() not in server.log().lower()
    if server.database.path is not None:
        assert typed.lower().encode() not in server.database.path.read_bytes().lower()
