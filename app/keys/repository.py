"""Every SQL statement about period keys and counsellor devices."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Device, DeviceEnrolment, PeriodKey


def add_period(session: AsyncSession, period: PeriodKey) -> None:
    session.add(period)


async def period_by_id(session: AsyncSession, period_id: str) -> PeriodKey | None:
    return await session.get(PeriodKey, period_id)


async def period_by_public_key(session: AsyncSession, public_key: str) -> PeriodKey | None:
    query = select(PeriodKey).where(PeriodKey.public_key == public_key).limit(1)
    return (await session.execute(query)).scalar_one_or_none()


async def all_periods(session: AsyncSession) -> list[PeriodKey]:
    query = select(PeriodKey).order_by(PeriodKey.not_before, PeriodKey.created_at)
    return list((await session.execute(query)).scalars())


async def mark_destroyed(session: AsyncSession, period_id: str, now: float) -> bool:
    """Record the destruction once; False when the period is unknown or already destroyed."""
    query = (
        update(PeriodKey)
        .where(PeriodKey.id == period_id, PeriodKey.destroyed_at.is_(None))
        .values(destroyed_at=now)
    )
    return bool((await session.execute(query)).rowcount)  # type: ignore[attr-defined]


async def current_period(session: AsyncSession, now: int) -> PeriodKey | None:
    """The valid, undestroyed period key with the latest start (overlaps allow replacement)."""
    query = (
        select(PeriodKey)
        .where(
            PeriodKey.not_before <= now,
            PeriodKey.not_after > now,
            PeriodKey.destroyed_at.is_(None),
        )
        .order_by(PeriodKey.not_before.desc(), PeriodKey.created_at.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


def add_device(session: AsyncSession, device: Device) -> None:
    session.add(device)


async def device(session: AsyncSession, device_id: str) -> Device | None:
    return await session.get(Device, device_id)


async def devices_of(session: AsyncSession, staff_id: str) -> list[Device]:
    query = select(Device).where(Device.staff_id == staff_id)
    return list((await session.execute(query)).scalars())


async def replace_enrolment(session: AsyncSession, enrolment: DeviceEnrolment) -> None:
    """``enrolment`` as its staff member's one pending code: any earlier one is dropped."""
    await session.execute(
        delete(DeviceEnrolment).where(DeviceEnrolment.staff_id == enrolment.staff_id)
    )
    session.add(enrolment)
    await session.flush()


async def take_enrolment(
    session: AsyncSession, code_digest: str, staff_id: str, now: float
) -> bool:
    """Use up the pending code with ``code_digest`` of ``staff_id`` if it has not expired: one
    conditional delete, so two registrations racing with one code cannot both win."""
    query = delete(DeviceEnrolment).where(
        DeviceEnrolment.code_digest == code_digest,
        DeviceEnrolment.staff_id == staff_id,
        DeviceEnrolment.expires_at > now,
    )
    return bool((await session.execute(query)).rowcount)  # type: ignore[attr-defined]


async def pending_enrolments(session: AsyncSession, staff_id: str, now: float) -> int:
    query = select(DeviceEnrolment).where(
        DeviceEnrolment.staff_id == staff_id, DeviceEnrolment.expires_at > now
    )
    return len(list((await session.execute(query)).scalars()))


async def prune_enrolments(session: AsyncSession, now: float) -> int:
    query = delete(DeviceEnrolment).where(DeviceEnrolment.expires_at <= now)
    return int((await session.execute(query)).rowcount)  # type: ignore[attr-defined]
