"""FastAPI dependencies for staff endpoints: the current session, roles and CSRF (R-11, R-12)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from app.db import transaction
from app.kit.errors import Forbidden, NotAuthenticated
from app.models import Staff, StaffSession
from app.security import service
from app.security.guard import get_guard
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
        found = await service.authenticate(
            session, state.settings, token, state.clock(), secret=get_guard(request).secret
        )
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


#: Who may watch and act on the house as a whole (board, alerts, statistics, deleting a chat).
SUPERVISING_ROLES = frozenset({"supervisor", "admin"})
ADMIN_ROLES = frozenset({"admin"})


async def supervisor(request: Request) -> CurrentStaff:
    """A supervisor or admin (403 for a counsellor), checked before the body is read, so a
    counsellor learns nothing from validation errors."""
    return _in(await current_staff(request), SUPERVISING_ROLES, "for supervisors")


async def supervisor_for_change(request: Request) -> CurrentStaff:
    return _in(await staff_for_change(request), SUPERVISING_ROLES, "for supervisors")


async def admin(request: Request) -> CurrentStaff:
    return _in(await current_staff(request), ADMIN_ROLES, "for admins")


async def admin_for_change(request: Request) -> CurrentStaff:
    return _in(await staff_for_change(request), ADMIN_ROLES, "for admins")


def _in(current: CurrentStaff, roles: frozenset[str], who: str) -> CurrentStaff:
    if current.staff.role not in roles:
        raise Forbidden(f"this is {who}")
    return current
