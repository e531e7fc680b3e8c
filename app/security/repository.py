"""Every SQL statement about staff sessions and login failures."""

from __future__ import annotations

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import LoginFailure, Staff, StaffSession

#: Namespace (first key) of the PostgreSQL advisory locks on a login name's digest.
NAME_LOCK_SPACE = 0x56484C47  # "VHLG"


async def lock_name(session: AsyncSession, name_digest: str) -> None:
    """Serialise the logins of one name for the rest of this transaction (the reservation of
    R-9). SQLite needs nothing more: BEGIN IMMEDIATE holds the database's write lock."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :key)"),
            {"space": NAME_LOCK_SPACE, "key": int(name_digest[:7], 16)},
        )


async def count_failures(
    session: AsyncSession, name_digest: str, since: float
) -> tuple[int, float]:
    """Failures for the name since ``since``: how many, and the oldest one's time."""
    query = select(func.count(), func.min(LoginFailure.at)).where(
        LoginFailure.name_digest == name_digest, LoginFailure.at >= since
    )
    count, oldest = (await session.execute(query)).one()
    return int(count), float(oldest or 0.0)


async def add_failure(session: AsyncSession, name_digest: str, now: float) -> None:
    session.add(LoginFailure(name_digest=name_digest, at=now))
    await session.flush()


async def clear_failures(session: AsyncSession, name_digest: str) -> None:
    await session.execute(delete(LoginFailure).where(LoginFailure.name_digest == name_digest))


async def prune_failures_of(session: AsyncSession, name_digest: str, before: float) -> None:
    await session.execute(
        delete(LoginFailure).where(
            LoginFailure.name_digest == name_digest, LoginFailure.at < before
        )
    )


async def prune_failures(session: AsyncSession, before: float) -> int:
    """Forget every failure older than ``before``; how many were deleted."""
    result = await session.execute(delete(LoginFailure).where(LoginFailure.at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def prune_sessions(
    session: AsyncSession, *, seen_before: float, created_before: float
) -> int:
    """Delete sessions idle since ``seen_before`` or created before ``created_before``."""
    result = await session.execute(
        delete(StaffSession).where(
            or_(
                StaffSession.last_seen_at < seen_before,
                StaffSession.created_at < created_before,
            )
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def add_session(
    session: AsyncSession, *, token_digest: str, staff_id: str, csrf_token: str, now: float
) -> None:
    session.add(
        StaffSession(
            token_digest=token_digest,
            staff_id=staff_id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
        )
    )


async def session_with_staff(
    session: AsyncSession, token_digest: str
) -> tuple[StaffSession, Staff] | None:
    query = (
        select(StaffSession, Staff)
        .join(Staff, Staff.id == StaffSession.staff_id)
        .where(StaffSession.token_digest == token_digest)
    )
    row = (await session.execute(query)).one_or_none()
    return None if row is None else (row[0], row[1])


async def touch_session(session: AsyncSession, token_digest: str, now: float) -> None:
    await session.execute(
        update(StaffSession)
        .where(StaffSession.token_digest == token_digest)
        .values(last_seen_at=now)
    )


async def renew_session(session: AsyncSession, token_digest: str, now: float) -> None:
    """A password + TOTP re-authentication: the session's absolute period starts again."""
    await session.execute(
        update(StaffSession)
        .where(StaffSession.token_digest == token_digest)
        .values(created_at=now, last_seen_at=now)
    )


async def count_live_sessions(
    session: AsyncSession, staff_id: str, *, seen_after: float, created_after: float
) -> int:
    """Sessions of ``staff_id`` seen after ``seen_after`` and created after ``created_after``."""
    query = (
        select(func.count())
        .select_from(StaffSession)
        .where(
            StaffSession.staff_id == staff_id,
            StaffSession.last_seen_at > seen_after,
            StaffSession.created_at > created_after,
        )
    )
    return int((await session.execute(query)).scalar_one())


async def delete_session(session: AsyncSession, token_digest: str) -> None:
    await session.execute(delete(StaffSession).where(StaffSession.token_digest == token_digest))


async def delete_sessions_of(session: AsyncSession, staff_id: str) -> None:
    await session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))


async def claim_totp_step(session: AsyncSession, staff_id: str, step: int) -> bool:
    """Record ``step`` as the account's last accepted TOTP step if it is later than the stored
    one; False when it is not (the code was used already, or a racing login won)."""
    query = (
        update(Staff)
        .where(Staff.id == staff_id, Staff.totp_last_step < step)
        .values(totp_last_step=step)
    )
    return bool((await session.execute(query)).rowcount)  # type: ignore[attr-defined]


async def staff_by_username(session: AsyncSession, username: str) -> Staff | None:
    """The account that logs in as ``username`` (normalised by the caller)."""
    query = select(Staff).where(Staff.username == username)
    return (await session.execute(query)).scalar_one_or_none()
