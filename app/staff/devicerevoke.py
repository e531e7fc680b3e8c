"""A counsellor's certified devices, listed and revoked one at a time (issue 13 (1)).

A lost or stolen laptop is revoked without touching the counsellor's other devices: young
people's keys are no longer sealed to it, its console closes within seconds (the console's
periodic check, ``relay/consolewatch.py``), and a counsellor on duty with it goes off duty, so
their open chats go back to the queue. Audited as ``device.revoked``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.keys import repository as keys_repo
from app.kit.errors import Conflict, NotFound
from app.staff import repository as repo
from app.staff import service
from app.triage import repository as triage_repo


class AlreadyRevoked(Conflict):
    code = "already_revoked"


@dataclass(frozen=True, slots=True)
class DeviceRow:
    device_id: str
    created_at: float
    not_after: int
    revoked_at: float | None
    on_duty_with_it: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "device_id": self.device_id,
            "created_at": round(self.created_at),
            "not_after": self.not_after,
            "revoked_at": None if self.revoked_at is None else round(self.revoked_at),
            "duty_device": self.on_duty_with_it,
        }


async def devices_of(session: AsyncSession, username: str) -> list[DeviceRow]:
    """The account's devices, newest first; ``NotFound`` for no such account."""
    staff = await service.account(session, username)
    rows = await keys_repo.devices_of(session, staff.id)
    return [
        DeviceRow(r.id, r.created_at, r.not_after, r.revoked_at, staff.duty_device_id == r.id)
        for r in sorted(rows, key=lambda r: r.created_at, reverse=True)
    ]


async def revoke_device(
    session: AsyncSession, username: str, device_id: str, now: float, *, actor: str | None = None
) -> list[str]:
    """Revoke one device of ``username``. Returns the conversations it still held on duty (they
    go back to the queue once the running service notices). Raises ``NotFound`` (no such
    account, or the device is not theirs) or ``AlreadyRevoked``."""
    staff = await service.account(session, username)
    row = await keys_repo.device(session, device_id)
    if row is None or row.staff_id != staff.id:
        raise NotFound(f"{staff.username} has no device {device_id!r}")
    if row.revoked_at is not None:
        raise AlreadyRevoked(f"device {device_id} of {staff.username} is revoked already")
    row.revoked_at = now
    held: list[str] = []
    if staff.duty_device_id == device_id:
        held = [c.id for c in await triage_repo.held_conversations(session, staff.id)]
        await repo.set_duty(session, staff.id, False, now)
    await service.audited(
        session, actor, "device.revoked", staff.username, now, device_id=device_id
    )
    return held
