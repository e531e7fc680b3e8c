"""The young person's HTTP API: the quick-exit "I left" beacon (SAFETY S-6, S-10)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.chat import service as chat_service
from app.chat.handlers import publish_closed
from app.db import transaction
from app.kit.errors import NotFound
from app.kit.ids import token_digest
from app.security.dependencies import check_origin
from app.state import get_state
from app.triage import service
from app.triage.schemas import LeaveRequest

router = APIRouter(prefix="/api/youth", tags=["youth"])


@router.post("/leave", status_code=204)
async def leave(body: LeaveRequest, request: Request, response: Response) -> None:
    """End the ticket or conversation now; the ticket is refused afterwards.

    Sent with ``fetch(..., {keepalive: true})`` by the quick exit; answers 204 whatever the
    ticket's state (so the page never waits on it), 404 for a ticket that never existed.
    """
    check_origin(request)
    state = get_state(request)
    now = state.clock()
    async with transaction(state.sessionmaker) as session:
        try:
            ticket = await service.resume(session, token_digest(body.ticket))
        except NotFound:
            raise NotFound("no such ticket") from None
        closed_conv = None
        if ticket.status == "waiting":
            await service.leave(session, ticket.ticket_id, now)
        elif ticket.conversation is not None and ticket.conversation.status == "open":
            if await chat_service.close(session, ticket.conversation.id, by="Y", now=now):
                closed_conv = ticket.conversation.id
    if closed_conv is not None:
        publish_closed(state, closed_conv, by="Y", reason="left")
    state.dispatcher.queue_changed()
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
