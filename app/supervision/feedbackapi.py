"""``POST /api/youth/feedback``: the young person's answer to "Did this chat help you?" after a
chat (issue 12 §3), counted as an anonymous aggregate and nothing else.

In one transaction the ticket is flagged as having answered (refused if it already was) and the
cell of (local day, queue kind, answer) is incremented; the answer is never stored next to the
ticket or the conversation, and nothing here is logged.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from app.db import transaction
from app.kit.errors import Conflict, TooManyRequests
from app.kit.ids import token_digest
from app.security.dependencies import check_origin
from app.state import get_state
from app.supervision import feedback, stats
from app.supervision import repository as repo
from app.triage import repository as triage_repo
from app.triage.dispatcher import get_dispatcher
from app.triage.schemas import TicketField, TicketUnknown

router = APIRouter(tags=["youth"])


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket: TicketField
    answer: feedback.Answer


class AlreadyAnswered(Conflict):
    code = "already_answered"


class NotPaired(Conflict):
    code = "not_paired"


@router.post(
    "/api/youth/feedback",
    status_code=204,
    responses={403: {}, 404: {}, 409: {}, 429: {}},
)
async def youth_feedback(body: FeedbackRequest, request: Request) -> None:
    """Answer "Did this chat help you?" (``yes`` | ``partly`` | ``no``) once per ticket, after
    its chat with a counsellor has ended (or as it ends). Counted per day and queue kind only.

    403 ``forbidden`` from another origin; 404 ``ticket_unknown`` for a ticket that does not
    exist (or was deleted); 409 ``already_answered`` for a second answer; 409 ``not_paired``
    for a ticket that has no chat with a counsellor (still waiting, or waiting again after a
    transfer); 429 beyond ``VH_YOUTH_FEEDBACK_PER_WINDOW`` answers per client address and
    window.
    """
    check_origin(request)
    state = get_state(request)
    now, client = state.clock(), state.client_bucket(request)
    if not state.feedback_limits.hit(client, now):
        retry = int(state.feedback_limits.retry_after(client, now)) + 1
        raise TooManyRequests(
            "too many answers; try again later", headers={"Retry-After": str(retry)}
        )
    timezone = get_dispatcher(request).setup.schedule.timezone
    async with transaction(state.sessionmaker) as session:
        ticket = await triage_repo.ticket_by_digest(session, token_digest(body.ticket))
        if ticket is None:
            raise TicketUnknown("this ticket is not valid")
        conv = await triage_repo.conversation_of_ticket(session, ticket.id)
        if not feedback.may_answer(None if conv is None else conv.status):
            raise NotPaired("feedback is asked after a chat with a counsellor")
        if not await repo.mark_feedback_given(session, ticket.id):
            raise AlreadyAnswered("this chat's feedback has already been given")
        day = stats.local_day(now, timezone).isoformat()
        added = feedback.increments(body.answer)
        await repo.count_feedback(session, day=day, kind=ticket.kind, added=added)
