"""The queue's HTTP API: the triage questions and the quick-exit "I left" beacon (SAFETY S-6,
S-10)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.db import transaction
from app.kit.errors import DomainError, NotFound
from app.kit.ids import token_digest
from app.security.dependencies import check_origin
from app.state import get_state
from app.triage import questions, service
from app.triage import service as chat_service
from app.triage.announce import publish_closed
from app.triage.dispatcher import get_dispatcher
from app.triage.schemas import LeaveRequest

router = APIRouter(tags=["youth"])


class UnknownLanguage(DomainError):
    status = 422
    code = "invalid_request"


@router.get("/api/triage/questions")
async def triage_questions(
    request: Request,
    lang: Annotated[str, Query(min_length=2, max_length=8, pattern=r"^[a-z]{2,8}$")] = "sv",
) -> dict[str, Any]:
    """The configured triage questions in one language (``lang``: one of the set's languages,
    default ``sv``): ids, whether required, labels and options. Anonymous; sets no cookie.
    422 ``invalid_request`` for a language the set has no labels in."""
    try:
        return questions.localized(get_dispatcher(request).setup.questions, lang)
    except questions.BadAnswer as exc:
        raise UnknownLanguage(str(exc)) from None


@router.post("/api/youth/leave", status_code=204, responses={404: {}})
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
        closed_conv, closed = None, None
        conv = ticket.conversation
        if conv is not None and conv.status in ("open", "requeued"):
            # A chat, or one waiting again after a transfer: ending it ends the ticket too.
            closed = await chat_service.close(session, conv.id, by="Y", now=now)
            if closed is not None:
                closed_conv = conv.id
        elif ticket.status == "waiting":
            await service.leave(session, ticket.ticket_id, now)
    if closed_conv is not None:
        offer_to = None if closed is None else closed.offer_to
        publish_closed(state.broker, closed_conv, by="Y", reason="left", offer_to=offer_to)
        get_dispatcher(request).request_match()
    get_dispatcher(request).queue_changed()
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
