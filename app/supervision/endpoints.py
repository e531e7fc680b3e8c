"""The supervisors' HTTP API: the live queue board; and the admins' ``GET /metrics``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.kit.errors import Forbidden
from app.security.dependencies import CurrentStaff, current_staff
from app.state import get_state
from app.supervision import scrape, service
from app.triage.dispatcher import get_dispatcher

router = APIRouter(tags=["staff"])

SUPERVISING_ROLES = frozenset({"supervisor", "admin"})


@router.get("/staff/api/board")
async def live_board(
    request: Request, current: Annotated[CurrentStaff, Depends(current_staff)]
) -> dict[str, Any]:
    """The live queue board: queues with lengths and longest waits, staff on duty with their
    load, and alerts. Supervisors and admins only (403 ``forbidden`` for counsellors)."""
    if current.staff.role not in SUPERVISING_ROLES:
        raise Forbidden("the queue board is for supervisors")
    state = get_state(request)
    async with state.sessionmaker() as session:
        return await service.live_board(
            session,
            get_dispatcher(request).setup,
            service.thresholds(state.settings),
            state.clock(),
        )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(
    request: Request, current: Annotated[CurrentStaff, Depends(current_staff)]
) -> Response:
    """Prometheus metrics (text format): queues, staff on duty, chats, sockets, envelopes,
    pairing latency, errors. Admins only (401 without a session, 403 ``forbidden`` for other
    roles); ``VH_METRICS_BIND`` serves the same without a session on an internal address."""
    if current.staff.role != "admin":
        raise Forbidden("the metrics are for admins")
    return await scrape.exposition(get_state(request), get_dispatcher(request).setup.questions)
