"""The admins' device controls on ``/staff/admin`` (issue 13 (1)): a counsellor's certified
devices listed and revoked one at a time, and an enrolment code for a new device made in the
browser — the same services as ``vhouse staff devices``, ``revoke-device`` and ``enrol``.

Who: admins, as for every other staff administration (``deps.admin``; Origin and CSRF checks on
the POSTs). An enrolment code also needs the acting admin's **own fresh login** (the proof a
password + TOTP login or re-authentication answered, ``app.security.freshlogin``, within
``VH_DEVICE_FRESH_LOGIN_SECONDS``), and is never made for the acting admin's own account: a
new device of anyone takes a second person (the four-eyes rule, docs/OPERATIONS.md §9). The
code is shown once in the answer and audited as ``device.enrol_code`` with who made it, never
the code.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from app.db import transaction
from app.keys import devices as device_rules
from app.kit.errors import Forbidden
from app.security import dependencies as deps
from app.security import freshlogin
from app.security.dependencies import CurrentStaff
from app.security.guard import get_guard
from app.staff import devicerevoke, service
from app.staff.admin_endpoints import Username
from app.staff.device_cli import issue_code
from app.state import get_state
from app.triage.dispatcher import get_dispatcher

router = APIRouter(prefix="/staff/api/admin/staff", tags=["admin"])

Admin = Annotated[CurrentStaff, Depends(deps.admin)]
AdminChange = Annotated[CurrentStaff, Depends(deps.admin_for_change)]
DeviceId = Annotated[str, Path(min_length=22, max_length=22, pattern=r"^[A-Za-z0-9_-]{22}$")]


class OwnEnrolment(Forbidden):
    """An admin asked for an enrolment code of their own account."""

    code = "own_enrolment"


class EnrolCodeRequest(BaseModel):
    """``fresh_login``: the acting admin's own proof of a fresh login, as their login or
    re-authentication answered it (a page without one asks for the password and code first)."""

    model_config = ConfigDict(extra="forbid")
    fresh_login: str = Field(min_length=1, max_length=128)


@router.get("/{username}/devices", responses={404: {}})
async def list_devices(username: Username, request: Request, _admin: Admin) -> dict[str, Any]:
    """The account's devices, newest first (``vhouse staff devices``); 404 for no account."""
    async with get_state(request).sessionmaker() as session:
        rows = await devicerevoke.devices_of(session, username)
    return {"devices": [r.as_dict() for r in rows]}


@router.post("/{username}/devices/{device_id}/revoke", responses={404: {}, 409: {}})
async def revoke_device(
    username: Username, device_id: DeviceId, request: Request, current: AdminChange
) -> dict[str, Any]:
    """Revoke one device (``vhouse staff revoke-device``): audited ``device.revoked`` with the
    admin; a console using it closes within seconds; when it was the duty device, the shift
    ends and its open chats go back to the queue. 404 for a device not of this account, 409
    ``already_revoked``."""
    state = get_state(request)
    async with transaction(state.sessionmaker) as session:
        held = await devicerevoke.revoke_device(
            session, username, device_id, state.clock(), actor=current.staff.id
        )
    if held:
        dispatcher = get_dispatcher(request)
        dispatcher.queue_changed()
        dispatcher.request_match()
    return {"revoked": device_id, "requeued": len(held)}


@router.post(
    "/{username}/enrol-code", status_code=201, responses={403: {}, 404: {}, 409: {}, 422: {}}
)
async def enrol_code(
    username: Username, body: EnrolCodeRequest, request: Request, current: AdminChange
) -> dict[str, Any]:
    """A single-use enrolment code for one new device of ``username`` (``vhouse staff enrol``):
    ``{"code","expires_at"}``, shown once. 403 ``login_not_fresh`` without the acting admin's
    own fresh login, ``own_enrolment`` for their own account; 404 for no account; 409 for a
    disabled one."""
    state = get_state(request)
    guard = get_guard(request)
    now = state.clock()
    if not freshlogin.valid(
        guard.secret,
        body.fresh_login,
        staff_id=current.staff.id,
        session_digest=current.record.token_digest,
        now=now,
        lifetime=state.settings.device_fresh_login_seconds,
    ):
        raise device_rules.LoginNotFresh("log in again (password and code) to do this")
    async with transaction(state.sessionmaker) as session:
        staff = await service.account(session, username)
        if staff.id == current.staff.id:
            raise OwnEnrolment(
                "a code for your own new device must come from another admin (or the server's"
                " operator with vhouse staff enrol)"
            )
        issued = await issue_code(
            session, username, state.settings, guard.secret, now, actor=current.staff.id
        )
    return {"code": issued.code, "expires_at": round(issued.expires_at)}
