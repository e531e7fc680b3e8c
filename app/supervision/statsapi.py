"""The statistics downloads (``GET /staff/api/stats.csv``, ``/staff/api/stats/tags.csv``,
``/staff/api/stats/feedback.csv``): the cells of ``vhouse stats export`` / ``stats tags`` /
``stats feedback``, suppressed alike, for supervisors and admins;
every download audited as ``stats.exported``."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from app.audit import repository as audit_log
from app.db import transaction
from app.kit.errors import DomainError
from app.security.dependencies import CurrentStaff, supervisor
from app.state import get_state
from app.supervision import exports

router = APIRouter(tags=["staff"])


class InvalidRange(DomainError):
    status = 422
    code = "invalid_request"


Supervising = Annotated[CurrentStaff, Depends(supervisor)]
First = Annotated[date | None, Query(alias="from", description="first local day, YYYY-MM-DD")]
Last = Annotated[date | None, Query(alias="to", description="last local day, YYYY-MM-DD")]

CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "CSV, suppressed cells empty"},
    401: {},
    403: {},
    422: {},
}


async def _download(
    request: Request, current: CurrentStaff, table: str, first: date | None, last: date | None
) -> Response:
    if first is not None and last is not None and first > last:
        raise InvalidRange(f"from {first} is after to {last}: nothing could match")
    state = get_state(request)
    async with transaction(state.sessionmaker) as session:
        if table == "queues":
            body = exports.to_csv(
                await exports.queue_rows(session, first=first, last=last), exports.COLUMNS
            )
        elif table == "feedback":
            body = exports.to_csv(
                await exports.feedback_rows(session, first=first, last=last),
                exports.FEEDBACK_COLUMNS,
            )
        else:
            body = exports.to_csv(
                await exports.tag_rows(session, first=first, last=last), exports.TAG_COLUMNS
            )
        detail = {
            "table": table,
            "from": None if first is None else first.isoformat(),
            "to": None if last is None else last.isoformat(),
        }
        await audit_log.audit(
            session,
            staff_id=current.staff.id,
            action="stats.exported",
            detail=json.dumps(detail),
            now=state.clock(),
        )
    span = "-".join(d.isoformat() for d in (first, last) if d is not None) or "all"
    name = {"queues": "vhouse-stats", "feedback": "vhouse-feedback"}.get(table, "vhouse-close-tags")
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{span}.csv"'},
    )


@router.get("/staff/api/stats.csv", response_class=Response, responses=CSV_RESPONSES)
async def stats_csv(
    request: Request, current: Supervising, first: First = None, last: Last = None
) -> Response:
    """Counts per day, queue, topic and language, as ``vhouse stats export``: counts under 5
    and percentiles of fewer than 5 waits empty. Audited (``stats.exported``)."""
    return await _download(request, current, "queues", first, last)


@router.get("/staff/api/stats/tags.csv", response_class=Response, responses=CSV_RESPONSES)
async def tags_csv(
    request: Request, current: Supervising, first: First = None, last: Last = None
) -> Response:
    """Close tags per day, queue, dimension and value, as ``vhouse stats tags``: counts under
    5 empty. Audited (``stats.exported``)."""
    return await _download(request, current, "tags", first, last)


@router.get("/staff/api/stats/feedback.csv", response_class=Response, responses=CSV_RESPONSES)
async def feedback_csv(
    request: Request, current: Supervising, first: First = None, last: Last = None
) -> Response:
    """After-chat feedback ("Did this chat help you?") per day, queue kind and answer, as
    ``vhouse stats feedback``: counts under 5 empty. Audited (``stats.exported``)."""
    return await _download(request, current, "feedback", first, last)
