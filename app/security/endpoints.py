"""Staff login, logout and "who am I" (JSON API used by the console page)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request, Response

from app.db import transaction
from app.kit.errors import NotAuthenticated, TooManyRequests
from app.security import service
from app.security.dependencies import (
    CurrentStaff,
    check_origin,
    current_staff,
    staff_for_change,
)
from app.security.schemas import LoginRequest, SessionInfo
from app.staff import repository as staff_repo
from app.state import get_state
from app.triage.channels import staff_channel

router = APIRouter(prefix="/staff/api", tags=["staff"])

REFUSED = "wrong username, password or code"


@router.post("/login", response_model=SessionInfo)
async def login(body: LoginRequest, request: Request, response: Response) -> SessionInfo:
    check_origin(request)
    state = get_state(request)
    outcome = await service.login(
        state.sessionmaker,
        state.settings,
        username=body.username,
        password=body.password,
        code=body.totp,
        now=state.clock(),
    )
    if isinstance(outcome, service.Locked):
        raise TooManyRequests(
            "too many failed attempts; try again later",
            headers={"Retry-After": str(outcome.retry_after)},
        )
    if isinstance(outcome, service.Refused):
        raise NotAuthenticated(REFUSED)
    settings = state.settings
    response.set_cookie(
        settings.cookie_name,
        outcome.token,
        max_age=settings.session_absolute_seconds,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )
    async with transaction(state.sessionmaker) as session:
        found = await service.authenticate(session, settings, outcome.token, state.clock())
    if found is None:  # pragma: no cover - the session was created a moment ago
        raise NotAuthenticated(REFUSED)
    return SessionInfo(
        staff_id=found[1].id,
        alias=found[1].alias,
        role=found[1].role,
        csrf_token=outcome.csrf_token,
    )


@router.get("/me", response_model=SessionInfo)
async def me(current: CurrentStaff = Depends(current_staff)) -> SessionInfo:  # noqa: B008
    return SessionInfo(
        staff_id=current.staff.id,
        alias=current.staff.alias,
        role=current.staff.role,
        csrf_token=current.record.csrf_token,
    )


@router.post("/logout", status_code=204)
async def logout(
    request: Request,
    response: Response,
    current: CurrentStaff = Depends(staff_for_change),  # noqa: B008
) -> None:
    state = get_state(request)
    async with transaction(state.sessionmaker) as session:
        await service.logout(session, current.record)
        # Logging out ends the shift: no new chats for someone who left (open ones stay theirs).
        off = await staff_repo.set_duty(session, current.staff.id, False, state.clock())
    if off:
        state.broker.publish(
            staff_channel(current.staff.id), json.dumps({"t": "duty", "on": False})
        )
    # Close this session's console sockets, in every process.
    state.broker.publish(
        staff_channel(current.staff.id),
        json.dumps({"t": "logout", "session": current.record.token_digest}),
    )
    response.delete_cookie(
        state.settings.cookie_name,
        path="/",
        secure=state.settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )
