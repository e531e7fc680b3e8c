"""Staff login, sessions and logout (SECURITY R-8 … R-11, R-16).

A login reserves its attempt before the password is hashed (R-9, issue 13): under a lock on the
typed name (SQLite: the write transaction; PostgreSQL: an advisory lock on the name's digest)
it counts the recent failures, refuses when there are too many, and otherwise records a failure
at once and commits. Only then is the password hashed (argon2 in a thread, through the
``HashGate`` bound, never holding a database lock); a success deletes the reservation with the
other failures. However many logins race, at most ``login_failures_allowed`` per window reach
the hash. The TOTP time step is claimed with a conditional update, so two logins racing with
the same code cannot both win.

What the database keeps is keyed with the server secret (``app.security.secret``): session
cookies and typed names are stored as HMAC-SHA-256 digests, never as typed, and a digest written
by someone without the secret matches no cookie.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import repository as audit_log
from app.config import Settings
from app.db import transaction
from app.kit.ids import new_token
from app.models import Staff, StaffSession
from app.security import repository as repo
from app.security import totp, totpseal
from app.security.guard import HashGate
from app.security.secret import name_digest, session_digest

log = logging.getLogger("app.security.login")


@dataclass(frozen=True, slots=True)
class LoggedIn:
    token: str  # the cookie value; only its digest is stored
    csrf_token: str
    staff_id: str


@dataclass(frozen=True, slots=True)
class Refused:
    pass


@dataclass(frozen=True, slots=True)
class Locked:
    retry_after: int


LoginOutcome = LoggedIn | Refused | Locked


def normalise_username(username: str) -> str:
    return username.strip().lower()[:64]


async def login(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    secret: bytes,
    hashes: HashGate,
    username: str,
    password: str,
    code: str,
    now: float,
) -> LoginOutcome:
    """Check password and TOTP. Unknown user, wrong password and wrong code look the same.

    Raises ``LoginBusy`` (from ``hashes``) when too many logins are in progress already.
    """
    name = normalise_username(username)
    key = name_digest(secret, name)
    async with hashes.admit():
        async with transaction(sessionmaker) as session:
            locked = await _reserve(session, settings, key, now)
            if locked is not None:
                log.info("login outcome=locked")
                return locked
            staff = await repo.staff_by_username(session, name)
            account = None if staff is None or staff.disabled else staff
            password_hash = account.password_hash if account else None

        password_ok = await hashes.verify(password_hash, password)
    step = None
    if password_ok and account is not None:
        step = _accepted_step(
            secret, account.id, account.totp_secret, code, account.totp_last_step, now
        )
    if account is not None and step is not None:
        async with transaction(sessionmaker) as session:
            if await repo.claim_totp_step(session, account.id, step):
                await repo.clear_failures(session, key)  # the reservation with the rest
                token, csrf = new_token(32), new_token(32)
                await repo.add_session(
                    session,
                    token_digest=session_digest(secret, token),
                    staff_id=account.id,
                    csrf_token=csrf,
                    now=now,
                )
                log.info("login outcome=success staff_id=%s", account.id)
                return LoggedIn(token=token, csrf_token=csrf, staff_id=account.id)
    # The reservation stays: it is this attempt's failure.
    log.info("login outcome=failure staff_id=%s", account.id if account else "unknown")
    return Refused()


def _accepted_step(
    secret: bytes, staff_id: str, stored: str, code: str, last_step: int, now: float
) -> int | None:
    """The time step of ``code`` for the account's sealed TOTP secret (``totpseal``); a stored
    value that does not open under the server secret (written into the database by someone
    without the key directory, or moved from another account) accepts no code."""
    plain = totpseal.unseal(secret, staff_id, stored)
    if plain is None:
        log.warning("login totp_secret_unusable staff_id=%s", staff_id)
        return None
    return totp.accepted_step(plain, code, last_step=last_step, now=now)


async def _reserve(
    session: AsyncSession, settings: Settings, key: str, now: float
) -> Locked | None:
    """Under the name's lock: forget its failures older than the window, then ``Locked`` if
    too many are left, else record this attempt as a failure (undone by a success)."""
    window = settings.login_failure_window_seconds
    await repo.lock_name(session, key)
    await repo.prune_failures_of(session, key, now - window)
    failures, oldest = await repo.count_failures(session, key, now - window)
    if failures >= settings.login_failures_allowed:
        return Locked(retry_after=max(1, int(oldest + window - now) + 1))
    await repo.add_failure(session, key, now)
    return None


async def authenticate(
    session: AsyncSession, settings: Settings, token: str | None, now: float, *, secret: bytes
) -> tuple[StaffSession, Staff] | None:
    """The live session and its staff member for a cookie value, or None.

    Expired sessions (idle or absolute timeout) are deleted. ``last_seen_at`` is refreshed at most
    every 30 s so that an active console does not write on every request.
    """
    if not token or len(token) > 64:
        return None
    digest = session_digest(secret, token)
    found = await repo.session_with_staff(session, digest)
    if found is None:
        return None
    record, staff = found
    idle = now - record.last_seen_at > settings.session_idle_seconds
    too_old = now - record.created_at > settings.session_absolute_seconds
    if idle or too_old or staff.disabled:
        await repo.delete_session(session, digest)
        return None
    if now - record.last_seen_at > 30:
        await repo.touch_session(session, digest, now)
    return record, staff


async def keep_alive(
    session: AsyncSession,
    settings: Settings,
    digest: str,
    *,
    last_activity: float,
    now: float,
) -> float | None:
    """For an open console socket: is its session still live? Activity on the socket counts
    (an on-duty console passes ``now``: its heartbeat keeps the session from idling out).

    Returns the session's absolute expiry (unix seconds) while it is live; None (and deletes the
    session if it expired) when the socket must be closed: logged out, expired (idle or
    absolute), or the account disabled.
    """
    found = await repo.session_with_staff(session, digest)
    if found is None:
        return None
    record, staff = found
    seen = max(record.last_seen_at, last_activity)
    idle = now - seen > settings.session_idle_seconds
    too_old = now - record.created_at > settings.session_absolute_seconds
    if idle or too_old or staff.disabled:
        await repo.delete_session(session, digest)
        return None
    # Written at most every 30 s (sooner only under a very short idle timeout): an on-duty
    # console's check runs every few seconds and need not write each time.
    if seen - record.last_seen_at >= min(30.0, settings.session_idle_seconds / 3):
        await repo.touch_session(session, digest, seen)
    return record.created_at + settings.session_absolute_seconds


async def live_account(session: AsyncSession, digest: str) -> Staff | None:
    """The account of the session with ``digest`` while that session exists and the account is
    enabled, else None: a read only (an open console's quick check, ``relay.consolewatch``)."""
    found = await repo.session_with_staff(session, digest)
    return None if found is None or found[1].disabled else found[1]


async def has_live_session(
    session: AsyncSession, settings: Settings, staff_id: str, now: float
) -> bool:
    """Whether ``staff_id`` still has a session that has not expired (another browser)."""
    count = await repo.count_live_sessions(
        session,
        staff_id,
        seen_after=now - settings.session_idle_seconds,
        created_after=now - settings.session_absolute_seconds,
    )
    return count > 0


async def reauthenticate(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    record: StaffSession,
    *,
    secret: bytes,
    hashes: HashGate,
    password: str,
    code: str,
    now: float,
) -> float | Refused | Locked:
    """Password + TOTP again for a live session: its absolute period starts anew (the open
    consoles keep their sockets and chats). Counts failures like a login (same lockout, same
    reservation before the hash).

    Returns the session's new absolute expiry, ``Refused`` or ``Locked``.
    """
    async with hashes.admit():
        async with transaction(sessionmaker) as session:
            found = await repo.session_with_staff(session, record.token_digest)
            if found is None or found[1].disabled:
                return Refused()
            staff = found[1]
            key = name_digest(secret, staff.username)
            locked = await _reserve(session, settings, key, now)
            if locked is not None:
                log.info("reauth outcome=locked staff_id=%s", staff.id)
                return locked
            password_hash, totp_secret, last_step = (
                staff.password_hash,
                staff.totp_secret,
                staff.totp_last_step,
            )
        password_ok = await hashes.verify(password_hash, password)
    step = (
        _accepted_step(secret, staff.id, totp_secret, code, last_step, now) if password_ok else None
    )
    if step is not None:
        async with transaction(sessionmaker) as session:
            if await repo.claim_totp_step(session, staff.id, step):
                await repo.clear_failures(session, key)
                await repo.renew_session(session, record.token_digest, now)
                await audit_log.audit(
                    session,
                    staff_id=staff.id,
                    action="staff.reauth",
                    detail="session renewed",
                    now=now,
                )
                log.info("reauth outcome=success staff_id=%s", staff.id)
                return now + settings.session_absolute_seconds
    log.info("reauth outcome=failure staff_id=%s", staff.id)
    return Refused()


def csrf_ok(record: StaffSession, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(record.csrf_token, presented)


async def logout(session: AsyncSession, record: StaffSession) -> None:
    await repo.delete_session(session, record.token_digest)
    log.info("logout staff_id=%s", record.staff_id)
