"""Every SQL statement of the centre's settings: the stored documents, their versions, and the
skills staff have (offered as routing targets)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import CentreSetting, Staff


async def all_settings(session: AsyncSession) -> list[CentreSetting]:
    rows = await session.scalars(select(CentreSetting).order_by(CentreSetting.name))
    return list(rows)


async def versions(session: AsyncSession) -> dict[str, int]:
    """Each stored name's version: what other processes compare, one small read."""
    rows = await session.execute(select(CentreSetting.name, CentreSetting.version))
    return {name: version for name, version in rows.all()}


async def setting_for_update(session: AsyncSession, name: str) -> CentreSetting | None:
    """The row of ``name``, locked for the rest of the transaction (PostgreSQL; SQLite's
    BEGIN IMMEDIATE already holds the write lock)."""
    found = await session.scalars(
        select(CentreSetting).where(CentreSetting.name == name).with_for_update()
    )
    return found.first()


async def save(
    session: AsyncSession,
    row: CentreSetting | None,
    name: str,
    document: str | None,
    *,
    staff_id: str | None,
    now: float,
) -> CentreSetting:
    """Store ``document`` (``None``: back to the file) as the next version of ``name``.
    Raises ``IntegrityError`` when another transaction stored the first version meanwhile."""
    if row is None:
        row = CentreSetting(name=name, version=0)
        session.add(row)
    row.document = document
    row.version += 1
    row.updated_at = now
    row.updated_by = staff_id
    await session.flush()
    return row


async def staff_skills(session: AsyncSession) -> set[str]:
    """Every skill some enabled staff member has."""
    rows = await session.scalars(select(Staff.skills).where(Staff.disabled.is_(False)))
    return {s.strip() for line in rows for s in line.split(",") if s.strip()}


async def aliases(session: AsyncSession, staff_ids: list[str]) -> dict[str, str]:
    if not staff_ids:
        return {}
    rows = await session.execute(select(Staff.id, Staff.alias).where(Staff.id.in_(staff_ids)))
    return {staff_id: alias for staff_id, alias in rows.all()}
