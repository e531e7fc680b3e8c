"""Every SQL statement about staff sessions and login failures."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import LoginFailure, Staff, StaffSession


async def count_failures(session: AsyncSession, username: str, since: float) -> tuple[int, float]:
    """Failures for ``username`` since ``since``: how many, and the oldest one's time."""
    query = select(func.count(), func.min(LoginFailure.at)).where(
        LoginFailure.username == username, LoginFailure.at >= since
    )
    count, oldest = (await session.execute(query)).one()
    return int(count), float(oldest or 0.0)


async def add_failure(session: AsyncSession, username: str, now: float) -> None:
    session.add(LoginFailure(username=username, at=now))


async def clear_failures(session: AsyncSession, username: str) -> None:
    await session.execute(delete(LoginFailure).where(LoginFailure.username == username))


async def prune_failures(session: AsyncSession, before: float) -> None:
    await session.execute(delete(LoginFailure).where(LoginFailure.at < before))


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
