"""The audit-log view's API (``GET /staff/api/audit``): who did what and when, newest first,
paged, for supervisors and admins. The detail is returned as stored (JSON text, possibly typed
by staff: the page shows it as text)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from app.audit import repository as audit_log
from app.state import get_state
from app.supervision import report
from app.supervision import repository as repo
from app.supervision.statsapi import First, InvalidRange, Last, Supervising
from app.triage.dispatcher import get_dispatcher

router = APIRouter(tags=["staff"])

#: The ``actor`` that names entries written by no one (the CLI, the purge).
SYSTEM = "system"


@router.get("/staff/api/audit", responses={401: {}, 403: {}, 422: {}})
async def audit_entries(
    request: Request,
    _current: Supervising,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    first: First = None,
    last: Last = None,
    before: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """``{"entries":[{"id","at","action","detail","actor"}],"next_before","actions"}``, newest
    first: ``actor`` a username or alias (any case; ``system`` for entries by no one),
    ``action`` exact, ``from``/``to`` local days (inclusive), ``before`` the ``next_before`` of
    the previous page (null: no more). ``actor`` is ``{"username","alias"}`` or null (system).
    ``actions`` lists every action in the log, for the filter."""
    if first is not None and last is not None and first > last:
        raise InvalidRange(f"from {first} is after to {last}: nothing could match")
    state = get_state(request)
    timezone = get_dispatcher(request).setup.schedule.timezone
    since, until = report.day_bounds(first, last, timezone)
    async with state.sessionmaker() as session:
        staff_ids: list[str] | None = None
        system = False
        if actor:
            system = actor.strip().lower() == SYSTEM
            staff_ids = await repo.staff_named(session, actor)
        found = await audit_log.entries(
            session,
            staff_ids=staff_ids,
            system=system,
            action=action or None,
            since=since,
            until=until,
            before=before,
            limit=limit + 1,
        )
        page = found[:limit]
        names = await repo.staff_names(
            session, sorted({e.staff_id for e in page if e.staff_id is not None})
        )
        actions = await audit_log.actions(session)
    return {
        "entries": [
            {
                "id": e.id,
                "at": e.at,
                "action": e.action,
                "detail": e.detail,
                "actor": _actor(names, e.staff_id),
            }
            for e in page
        ],
        "next_before": page[-1].id if len(found) > limit else None,
        "actions": actions,
    }


def _actor(names: dict[str, tuple[str, str]], staff_id: str | None) -> dict[str, str] | None:
    if staff_id is None:
        return None
    username, alias = names.get(staff_id, ("(removed)", "(removed)"))
    return {"username": username, "alias": alias}
