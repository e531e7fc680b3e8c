"""The supervisors' HTTP API: the live queue board and acknowledging its alerts, the
counsellors' close categories, and the admins' ``GET /metrics``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.audit import repository as audit_log
from app.db import transaction
from app.kit.errors import NotFound
from app.security.dependencies import (
    CurrentStaff,
    admin,
    current_staff,
    supervisor,
    supervisor_for_change,
)
from app.state import get_state
from app.supervision import closing, scrape
from app.supervision import repository as repo
from app.supervision.live import get_board_feed
from app.triage.dispatcher import get_dispatcher

router = APIRouter(tags=["staff"])


@router.get("/staff/api/board")
async def live_board(
    request: Request, _current: Annotated[CurrentStaff, Depends(supervisor)]
) -> dict[str, Any]:
    """The live queue board: queues with lengths and longest waits, staff on duty with their
    load, and alerts. Supervisors and admins only (403 ``forbidden`` for counsellors)."""
    return await get_board_feed(request).read()


class AckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=96)


@router.post("/staff/api/alerts/ack", status_code=204, responses={403: {}, 404: {}})
async def acknowledge_alert(
    body: AckRequest,
    request: Request,
    current: Annotated[CurrentStaff, Depends(supervisor_for_change)],
) -> Response:
    """A supervisor acknowledges an alert firing now (``key`` as the board gives it); every
    acknowledgement is audited. 404 when no such alert fires (it may just have cleared)."""
    state = get_state(request)
    feed = get_board_feed(request)
    board = await feed.read()
    alert = next((a for a in board["alerts"] if a["key"] == body.key), None)
    if alert is None:
        raise NotFound("no such alert is firing now (it may just have cleared)")
    now = state.clock()
    async with transaction(state.sessionmaker) as session:
        await repo.add_alert_ack(session, body.key, current.staff.id, now)
        detail = {"kind": alert["kind"], "queue": alert["queue"], "value": alert["value"]}
        await audit_log.audit(
            session,
            staff_id=current.staff.id,
            action="alert.acknowledged",
            detail=json.dumps(detail),
            now=now,
        )
    feed.poke()
    return Response(status_code=204)


@router.get("/staff/api/close-tags")
async def close_tags(
    request: Request, _current: Annotated[CurrentStaff, Depends(current_staff)]
) -> dict[str, Any]:
    """What a counsellor can tag a chat with when closing it: topics (the triage question
    set's), outcomes and referrals, each ``{"id","label"}``."""
    return closing.vocabulary(get_dispatcher(request).setup.questions, "en")


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request, _current: Annotated[CurrentStaff, Depends(admin)]) -> Response:
    """Prometheus metrics (text format): queues, staff on duty, chats, sockets, envelopes,
    pairing latency, errors. Admins only (401 without a session, 403 ``forbidden`` for other
    roles); ``VH_METRICS_BIND`` serves the same without a session on an internal address."""
    return await scrape.exposition(get_state(request), get_dispatcher(request).setup.questions)
