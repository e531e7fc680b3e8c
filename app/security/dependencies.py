"""FastAPI dependencies for staff endpoints: the current session, roles and CSRF (R-11, R-12)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from app.db import transaction
from app.kit.errors import Forbidden, NotAuthenticated
from app.models import Staff, StaffSession
from app.security import service
from app.security.origin import origin_allowed
from app.state import get_state


@dataclass(frozen=True, slots=True)
class CurrentStaff:
    record: StaffSession
    staff: Staff


async def current_staff(request: Request) -> CurrentStaff:
    state = get_state(request)
    token = request.cookies.get(state.settings.cookie_name)
    async with transaction(state.sessionmaker) as session:
        found = await service.authenticate(session, state.settings, token, state.clock())
    if found is None:
        raise NotAuthenticated("log in first")
    return CurrentStaff(*found)


def check_origin(request: Request) -> None:
    """State-changing requests must come from our own pages."""
    state = get_state(request)
    if not origin_allowed(
        request.headers.get("origin"), state.settings.allowed_origins, request.headers.get("host")
    ):
        raise Forbidden("cross-origin request refused")


async def staff_for_change(request: Request) -> CurrentStaff:
    """The current staff member, for a state-changing request: Origin and CSRF token checked."""
    check_origin(request)
    current = await current_staff(request)
    if not service.csrf_ok(current.record, request.headers.get("x-csrf-token")):
        raise Forbidden("missing or wrong CSRF token")
    return current
