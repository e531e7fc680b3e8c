"""The admins' settings API (issue 11 §3): the opening hours, alert thresholds and topic
routing in force, changed or returned to their file (``DELETE``). Admins only: 401 without a
session, 403 ``forbidden`` for other roles; changes need our Origin and the CSRF token.

A change takes effect in this process as soon as it is committed, and in the others within a
dispatcher sweep (``holder.CentreRefresh``). ``If-Match: "<version>"`` on ``PUT``/``DELETE``
refuses the change with 409 ``settings_changed`` when someone stored another version since.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Request

from app.centre import service
from app.centre.holder import get_centre
from app.db import snapshot, transaction
from app.kit.errors import DomainError
from app.security.dependencies import CurrentStaff, admin, admin_for_change
from app.state import get_state
from app.supervision.live import get_board_feed
from app.triage.dispatcher import get_dispatcher

router = APIRouter(prefix="/staff/api/admin/settings", tags=["staff"])

Name = str


class BadIfMatch(DomainError):
    status = 400
    code = "invalid_request"


def _version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise BadIfMatch('If-Match: a version as the settings give it, e.g. "3"')
    return int(text)


@router.get("")
async def all_settings(
    request: Request, _current: Annotated[CurrentStaff, Depends(admin)]
) -> dict[str, Any]:
    """Each settings document in force: ``{"settings": [{name, source, version, updated_at,
    updated_by, document}]}``; ``source`` is database, file, settings or default."""
    state = get_state(request)
    async with snapshot(state.sessionmaker) as session:
        found = await service.views(session, get_centre(request).base, state.settings)
    return {"settings": found}


@router.get("/{name}")
async def one_setting(
    name: Name, request: Request, _current: Annotated[CurrentStaff, Depends(admin)]
) -> dict[str, Any]:
    """One settings document in force (``hours``, ``alerts``, ``routing``; 404 otherwise);
    ``routing`` also lists the topics and the skill queues they may route to."""
    state = get_state(request)
    async with snapshot(state.sessionmaker) as session:
        return await service.view(session, name, get_centre(request).base, state.settings)


@router.put("/{name}", responses={400: {}, 403: {}, 404: {}, 409: {}})
async def change_setting(
    name: Name,
    request: Request,
    document: Annotated[Any, Body()],
    current: Annotated[CurrentStaff, Depends(admin_for_change)],
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Store ``document`` (the body) as ``name`` in force from now on; audited. 400
    ``invalid_settings`` names the place of the mistake (``error.where``) and stores nothing."""
    state = get_state(request)
    centre = get_centre(request)
    async with transaction(state.sessionmaker) as session:
        await service.store(
            session,
            name,
            document,
            base=centre.base,
            staff_id=current.staff.id,
            now=state.clock(),
            expected_version=_version(if_match),
        )
    return await _changed(request, name)


@router.delete("/{name}", responses={400: {}, 403: {}, 404: {}, 409: {}})
async def reset_setting(
    name: Name,
    request: Request,
    current: Annotated[CurrentStaff, Depends(admin_for_change)],
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Return ``name`` to its file or setting (audited when something was stored)."""
    state = get_state(request)
    async with transaction(state.sessionmaker) as session:
        await service.reset(
            session,
            name,
            staff_id=current.staff.id,
            now=state.clock(),
            expected_version=_version(if_match),
        )
    return await _changed(request, name)


async def _changed(request: Request, name: Name) -> dict[str, Any]:
    """Install the change in this process at once, and answer what is in force now."""
    state = get_state(request)
    centre = get_centre(request)
    await centre.reload(state.sessionmaker)
    get_dispatcher(request).request_match()
    get_board_feed(request).poke()
    async with snapshot(state.sessionmaker) as session:
        return await service.view(session, name, centre.base, state.settings)
