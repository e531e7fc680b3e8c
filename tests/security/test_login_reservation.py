"""The login reservation in process, against each database (SECURITY R-9, issue 13 (2), (3)):
attempts racing for one name are counted before any reaches the password hash, and what
``login_failures`` keeps is a keyed digest, pruned after the window.

``passwords.verify_password`` is wrapped to count its calls: that count is the number of
attempts that reached argon2, whatever the HTTP answers say.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import make_engine, make_sessionmaker, transaction
from app.models import LoginFailure, StaffSession
from app.security import passwords, service
from app.security.guard import HashGate
from app.security.prune import prune
from app.security.secret import name_digest
from tests.conftest import Database, _create_staff

SECRET = secrets.token_bytes(32)
SETTINGS = Settings(mode="test")


@pytest.fixture
async def sessions(database: Database) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(Settings(mode="test", database_url=database.url))
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def hash_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords checked against argon2, in order (the real check still runs)."""
    calls: list[str] = []
    real = passwords.verify_password

    def counted(password_hash: str | None, password: str) -> bool:
        calls.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counted)
    return calls


def _gate(concurrency: int = 1) -> HashGate:
    return HashGate(concurrency=concurrency, queue_max=1000)


async def _try(
    sessions: async_sessionmaker[AsyncSession],
    gate: HashGate,
    username: str,
    password: str,
    code: str = "000000",
    now: float | None = None,
    secret: bytes = SECRET,
) -> service.LoginOutcome:
    return await service.login(
        sessions,
        SETTINGS,
        secret=secret,
        hashes=gate,
        username=username,
        password=password,
        code=code,
        now=time.time() if now is None else now,
    )


async def test_100_racing_wrong_logins_reach_the_hash_at_most_5_times(
    database: Database, sessions: async_sessionmaker[AsyncSession], hash_calls: list[str]
) -> None:
    """R-9, R-27: the failure is reserved before the hash, under a per-name lock."""
    account = await _create_staff(database, f"c{secrets.token_hex(4)}", "Sara")
    gate = _gate(concurrency=4)  # several hashes at once: the race the issue found
    outcomes = await asyncio.gather(
        *(_try(sessions, gate, account.username, f"wrong password {i}") for i in range(100))
    )
    refused = sum(isinstance(o, service.Refused) for o in outcomes)
    locked = sum(isinstance(o, service.Locked) for o in outcomes)
    assert len(hash_calls) <= SETTINGS.login_failures_allowed
    assert (refused, locked) == (len(hash_calls), 100 - len(hash_calls))
    assert refused == SETTINGS.login_failures_allowed
    # Even the right password is not checked now: the name is locked before hashing.
    right = await _try(sessions, gate, account.username, account.password, account.code())
    assert isinstance(right, service.Locked)
    assert len(hash_calls) == SETTINGS.login_failures_allowed


async def test_a_success_clears_its_reservation_and_the_failures(
    database: Database, sessions: async_sessionmaker[AsyncSession], hash_calls: list[str]
) -> None:
    account = await _create_staff(database, f"c{secrets.token_hex(4)}", "Sara")
    secret = database.server_secret()  # the one its TOTP secret is sealed under
    gate = _gate()
    for _ in range(4):
        refused = await _try(sessions, gate, account.username, "nope", secret=secret)
        assert isinstance(refused, service.Refused)
    ok = await _try(
        sessions, gate, account.username, account.password, account.code(), secret=secret
    )
    assert isinstance(ok, service.LoggedIn), ok
    async with transaction(sessions) as session:
        rows = (await session.execute(select(LoginFailure))).scalars().all()
    assert [r for r in rows if r.name_digest == name_digest(secret, account.username)] == []


async def test_failures_keep_a_keyed_digest_never_the_typed_text_and_are_pruned(
    database: Database, sessions: async_sessionmaker[AsyncSession], hash_calls: list[str]
) -> None:
    """R-9, issue 13 (3): failures older than the window are pruned (a lock ends by itself),
    and a password typed into the username field is not kept."""
    typed = "  My-Secret-Passw0rd typed in the wrong field "
    gate = _gate()
    now = time.time()
    window = SETTINGS.login_failure_window_seconds
    await _try(sessions, gate, typed, "x", now=now - window - 10)
    await _try(sessions, gate, typed, "x", now=now - 5)
    async with transaction(sessions) as session:
        rows = (await session.execute(select(LoginFailure))).scalars().all()
    assert rows, "the failures were recorded"
    expected = name_digest(SECRET, service.normalise_username(typed))
    for row in rows:
        assert len(row.name_digest) == 64
        assert int(row.name_digest, 16) >= 0  # hex, nothing typed
        assert "secret" not in row.name_digest.lower()
    assert {r.name_digest for r in rows} == {expected}
    # Each login prunes its own name's old failures: the one from before the window is gone.
    assert sorted(r.at for r in rows) == [pytest.approx(now - 5)]

    # The chore prunes every name's old failures.
    await _try(sessions, gate, "someone else", "x", now=now - window - 10)
    failures, _ = await prune(sessions, SETTINGS, now)
    assert failures == 1
    async with transaction(sessions) as session:
        left = (await session.execute(select(LoginFailure))).scalars().all()
    assert [r.name_digest for r in left] == [expected]


async def test_a_login_held_waiting_does_not_count_more_than_one_hash(
    database: Database, sessions: async_sessionmaker[AsyncSession], hash_calls: list[str]
) -> None:
    """Over the gate's queue bound a login is refused before it reserves or hashes."""
    gate = HashGate(concurrency=1, queue_max=2)
    results = await asyncio.gather(
        *(_try(sessions, gate, f"u{i}", "x") for i in range(10)), return_exceptions=True
    )
    busy = [r for r in results if type(r).__name__ == "LoginBusy"]
    assert busy, results
    assert len(hash_calls) == len(results) - len(busy)
    async with transaction(sessions) as session:
        rows = (await session.execute(select(LoginFailure))).scalars().all()
    assert len(rows) == len(hash_calls)


async def test_the_prune_forgets_sessions_past_their_limits(
    database: Database, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """R-11: sessions past their idle or absolute limit are forgotten by the prune."""
    account = await _create_staff(database, f"c{secrets.token_hex(4)}", "Sara")
    now = time.time()
    idle, absolute = SETTINGS.session_idle_seconds, SETTINGS.session_absolute_seconds
    rows = {
        "live": (now - 60, now - 5),
        "idle": (now - 3 * idle, now - 3 * idle),
        "too-old": (now - absolute - 60, now - 5),
    }
    async with transaction(sessions) as session:
        for digest, (created, seen) in rows.items():
            session.add(
                StaffSession(
                    token_digest=digest,
                    staff_id=account.staff_id,
                    csrf_token="x",
                    created_at=created,
                    last_seen_at=seen,
                )
            )
    _, pruned = await prune(sessions, SETTINGS, now)
    assert pruned == 2
    async with transaction(sessions) as session:
        left = (await session.execute(select(StaffSession.token_digest))).scalars().all()
    assert list(left) == ["live"]


async def test_no_more_hashes_run_at_once_than_the_gate_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """R-27: Issue 13 (2): the argon2 work is bounded, so logins cannot take every core."""
    running, most = 0, 0
    lock = threading.Lock()
    real = passwords.verify_password

    def watched(password_hash: str | None, password: str) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            return real(password_hash, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(passwords, "verify_password", watched)
    gate = HashGate(concurrency=2, queue_max=100)
    results = await asyncio.gather(*(gate.verify(None, "x") for _ in range(12)))
    assert results == [False] * 12
    assert most == 2
