"""The console's view of colleagues: who is on duty, for transfers (DESIGN.md §3.6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from app.keys import devices
from app.models import Staff
from app.security.dependencies import CurrentStaff, current_staff
from app.state import get_state
from app.triage import repository as triage_repo

router = APIRouter(prefix="/staff/api", tags=["staff"])


@router.get("/colleagues")
async def colleagues(
    request: Request,
    current: CurrentStaff = Depends(current_staff),  # noqa: B008
) -> dict[str, Any]:
    """Colleagues on duty with a console: alias, organisation, skills, languages, load, and the
    certified device a warm-transfer note is sealed to (the console checks the certificate)."""
    state = get_state(request)
    async with state.sessionmaker() as session:
        on_duty = {c.id: c for c in await triage_repo.on_duty_counsellors(session)}
        rows = (
            (await session.execute(select(Staff).where(Staff.id.in_(list(on_duty)))))
            .scalars()
            .all()
        )
        listed = []
        for staff in sorted(rows, key=lambda s: s.alias.lower()):
            if staff.id == current.staff.id or staff.duty_device_id is None:
                continue
            device = await devices.by_id(session, staff.duty_device_id)
            counsellor = on_duty[staff.id]
            listed.append(
                {
                    "staff_id": staff.id,
                    "alias": staff.alias,
                    "organisation": staff.organisation,
                    "skills": sorted(counsellor.skills),
                    "languages": sorted(counsellor.languages),
                    "load": counsellor.load,
                    "capacity": counsellor.capacity,
                    "device": None if device is None else device.as_dict(),
                }
            )
    return {"colleagues": listed}
