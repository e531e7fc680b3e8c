"""Every SQL statement about staff accounts and shifts (the audit log: ``app.audit``; sessions:
``app.security.repository``)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import and_, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Conversation, Shift, Staff
from app.types import StaffId, StaffRole


async def by_username(session: AsyncSession, username: str) -> Staff | None:
    query = select(Staff).where(Staff.username == username)
    return (await session.execute(query)).scalar_one_or_none()


async def alias_taken(session: AsyncSession, alias: str) -> bool:
    """Whether any account (disabled ones too) has ``alias``, ignoring case."""
    query = select(Staff.id).where(func.lower(Staff.alias) == alias.lower()).limit(1)
    return (await session.execute(query)).first() is not None


async def by_id(session: AsyncSession, staff_id: str) -> Staff | None:
    return await session.get(Staff, staff_id)


async def all_staff(session: AsyncSession) -> list[Staff]:
    return list((await session.execute(select(Staff).order_by(Staff.username))).scalars())


async def staff_by_ids(session: AsyncSession, staff_ids: list[str]) -> list[Staff]:
    """The accounts of ``staff_ids`` (unknown ids are skipped), in no particular order."""
    query = select(Staff).where(Staff.id.in_(staff_ids))
    return list((await session.execute(query)).scalars().all())


def add_account(
    session: AsyncSession,
    *,
    staff_id: StaffId,
    username: str,
    alias: str,
    role: StaffRole,
    password_hash: str,
    totp_secret: str,
    languages: str,
    skills: str,
    capacity: int,
    organisation: str,
    now: float,
) -> Staff:
    """Add an enabled account, off duty, to the session (flushed with the caller's next query)."""
    staff = Staff(
        id=staff_id,
        username=username,
        alias=alias,
        role=role,
        password_hash=password_hash,
        totp_secret=totp_secret,
        totp_last_step=0,
        languages=languages,
        skills=skills,
        capacity=capacity,
        organisation=organisation,
        disabled=False,
        on_duty=False,
        idle_since=now,
        created_at=now,
    )
    session.add(staff)
    return staff


def disable(staff: Staff) -> None:
    staff.disabled = True


async def reload(session: AsyncSession, staff: Staff) -> Staff:
    """``staff`` as stored now (after updates issued as statements, such as ``set_duty``)."""
    await session.refresh(staff)
    return staff


def enable(staff: Staff) -> None:
    staff.disabled = False


def update_profile(staff: Staff, values: Mapping[str, str | int]) -> None:
    """Set the editable fields of ``values`` (``rules.EDITABLE``, already checked)."""
    for name, value in values.items():
        setattr(staff, name, value)


def set_password_hash(staff: Staff, password_hash: str) -> None:
    staff.password_hash = password_hash


def set_totp_secret(staff: Staff, secret: str) -> None:
    """A new TOTP secret; its steps start afresh."""
    staff.totp_secret = secret
    staff.totp_last_step = 0


async def count_enabled_admins(session: AsyncSession) -> int:
    query = select(func.count()).where(Staff.role == "admin", Staff.disabled.is_(False))
    return int((await session.execute(query)).scalar_one())


async def alias_taken_by_other(session: AsyncSession, alias: str, staff_id: str) -> bool:
    """Whether an account other than ``staff_id`` (disabled ones too) has ``alias``, any case."""
    query = (
        select(Staff.id)
        .where(func.lower(Staff.alias) == alias.lower(), Staff.id != staff_id)
        .limit(1)
    )
    return (await session.execute(query)).first() is not None


async def touch_heartbeat(session: AsyncSession, staff_id: str, now: float) -> None:
    await session.execute(update(Staff).where(Staff.id == staff_id).values(heartbeat_at=now))


async def silent_on_duty(session: AsyncSession, before: float | None) -> list[str]:
    """Ids of counsellors on duty or holding an open chat with no heartbeat since ``before``
    (none when ``before`` is None), and of disabled accounts still holding an open chat
    (``vhouse staff disable``)."""
    holds = (
        select(Conversation.id)
        .where(Conversation.staff_id == Staff.id, Conversation.status == "open")
        .exists()
    )
    silent = (
        false()
        if before is None
        else or_(Staff.heartbeat_at.is_(None), Staff.heartbeat_at < before)
    )
    query = select(Staff.id).where(
        or_(
            and_(or_(Staff.on_duty.is_(True), holds), silent),
            and_(Staff.disabled.is_(True), holds),
        )
    )
    return list((await session.execute(query)).scalars())


async def take_duty_device(
    session: AsyncSession, staff_id: str, device_id: str, now: float
) -> bool:
    """A new console of a counsellor on duty takes the shift over with its own device: new
    chats are sealed to ``device_id`` from now on. False when they are not on duty, or it is the
    duty device already."""
    query = (
        update(Staff)
        .where(
            Staff.id == staff_id,
            Staff.on_duty.is_(True),
            Staff.disabled.is_(False),
            or_(Staff.duty_device_id.is_(None), Staff.duty_device_id != device_id),
        )
        .values(duty_device_id=device_id, heartbeat_at=now)
    )
    return bool((await session.execute(query)).rowcount)  # type: ignore[attr-defined]


async def set_duty(
    session: AsyncSession, staff_id: str, on: bool, now: float, *, device_id: str | None = None
) -> bool:
    """Go on or off duty, recording the shift; False when nothing changed.

    Going on duty names the device new chats are sealed to; asking again from another console
    moves that to the asking console's device.
    """
    values: dict[str, object] = {"on_duty": on}
    if on:
        if device_id is None:
            raise ValueError("going on duty needs a registered device")
        values["idle_since"] = now
        await session.execute(
            update(Staff)
            .where(Staff.id == staff_id)
            .values(duty_device_id=device_id, heartbeat_at=now)
        )
    query = (
        update(Staff)
        .where(Staff.id == staff_id, Staff.on_duty.is_(not on), Staff.disabled.is_(False))
        .values(**values)
    )
    changed = bool((await session.execute(query)).rowcount)  # type: ignore[attr-defined]
    if not changed:
        return False
    if on:
        session.add(Shift(staff_id=staff_id, started_at=now))
    else:
        await session.execute(
            update(Shift)
            .where(Shift.staff_id == staff_id, Shift.ended_at.is_(None))
            .values(ended_at=now)
        )
    return True
