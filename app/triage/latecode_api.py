"""``POST /api/youth/return-code``: a return code filed just after the chat ended (issue 12 §3).

The chat's socket is gone, so the page that still holds the segment keys sends their wraps
under a new code with the chat's ticket (docs/PROTOCOL.md). Here, not in ``chat/``, because the
ticket is the queue's: ``triage`` may import ``chat``, never the other way round.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from app.chat import latecode, segments
from app.chat.sealing import get_sealer
from app.chat.wraps import ReturnCode
from app.db import transaction
from app.kit.errors import Conflict, ProtocolError, TooManyRequests
from app.kit.ids import token_digest
from app.security.dependencies import check_origin
from app.state import get_state
from app.triage import repository as triage_repo
from app.triage.schemas import TicketField, TicketUnknown

router = APIRouter(tags=["youth"])

#: Unpadded base64url of 16 bytes (a locator, a salt, a conversation id), 12 and 48 bytes.
B64_16 = r"^[A-Za-z0-9_-]{21}[AQgw]$"
B64_12 = r"^[A-Za-z0-9_-]{16}$"
B64_48 = r"^[A-Za-z0-9_-]{64}$"


class LateWrap(BaseModel):
    """One segment's key wrapped under the code (the socket's ``return_code`` frame)."""

    model_config = ConfigDict(extra="forbid")

    seg: int = Field(ge=0, le=2**32 - 1)
    locator: str = Field(min_length=22, max_length=22, pattern=B64_16)
    salt: str = Field(min_length=22, max_length=22, pattern=B64_16)
    nonce: str = Field(min_length=16, max_length=16, pattern=B64_12)
    wrap: str = Field(min_length=64, max_length=64, pattern=B64_48)


class LateCodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket: TicketField
    conv: str = Field(min_length=22, max_length=22, pattern=B64_16)
    segments: list[LateWrap] = Field(min_length=1, max_length=64)


class TooLate(Conflict):
    code = "too_late"


class CodeRefused(Conflict):
    code = "keys_refused"


@router.post(
    "/api/youth/return-code", status_code=204, responses={403: {}, 404: {}, 409: {}, 429: {}}
)
async def late_return_code(body: LateCodeRequest, request: Request) -> None:
    """File a return code for a chat that has just ended: the wraps of its segments, sent by
    the page that still holds their keys, with the chat's ticket.

    403 ``forbidden`` from another origin; 404 ``ticket_unknown`` for a ticket that does not
    exist (or whose conversation is not ``conv``); 409 ``too_late`` unless the conversation has
    ended within ``VH_LATE_RETURN_CODE_SECONDS``; 409 ``keys_refused`` when a segment is not the
    conversation's, already has a return code, or the wraps name two codes; 429 beyond the
    return-code lookups allowed per client address and window.
    """
    check_origin(request)
    state = get_state(request)
    now, bucket = state.clock(), state.client_bucket(request)
    if not state.return_limits.hit(bucket, now):
        retry = int(state.return_limits.retry_after(bucket, now)) + 1
        raise TooManyRequests(
            "too many attempts; try again later", headers={"Retry-After": str(retry)}
        )
    if len({item.locator for item in body.segments}) != 1:
        raise CodeRefused("a conversation has one return code")
    sealer = get_sealer(request)
    async with transaction(state.sessionmaker) as session:
        ticket = await triage_repo.ticket_by_digest(session, token_digest(body.ticket))
        conv = (
            None if ticket is None else await triage_repo.conversation_of_ticket(session, ticket.id)
        )
        if conv is None or conv.id != body.conv:
            raise TicketUnknown("this ticket is not valid")
        window = state.settings.late_return_code_seconds
        if not latecode.may_add_late_code(conv.status, conv.closed_at, now, window):
            raise TooLate("a return code is made during the chat or just after it ends")
        try:
            for item in body.segments:
                frame = ReturnCode(conv=conv.id, **item.model_dump())
                await segments.store_return_wrap(session, sealer, frame, now)
        except ProtocolError as exc:
            raise CodeRefused(exc.message) from exc
