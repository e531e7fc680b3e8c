"""The deletion endpoints: the young person's "delete this conversation now" (by the chat's
ticket, or with a return code) and a supervisor's audited deletion with a reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.db import transaction
from app.expiry import deletion
from app.expiry.purge import checkpoint
from app.kit.errors import DomainError, NotFound, TooManyRequests
from app.kit.ids import token_digest
from app.security.dependencies import CurrentStaff, check_origin, supervisor_for_change
from app.state import AppState, get_state
from app.triage import repository as triage_repo
from app.triage.dispatcher import get_dispatcher

router = APIRouter()

_B64_16 = r"^[A-Za-z0-9_-]{21}[AQgw]$"


class YouthDeleteRequest(BaseModel):
    """Either the chat's ``ticket`` (the page that held the chat), or a return code's
    ``locator`` with, optionally, one ``conv`` of those filed under it (default: all)."""

    model_config = ConfigDict(extra="forbid")

    ticket: str | None = Field(None, min_length=22, max_length=22, pattern=_B64_16)
    locator: str | None = Field(None, min_length=22, max_length=22, pattern=_B64_16)
    conv: str | None = Field(None, min_length=22, max_length=22, pattern=_B64_16)

    @model_validator(mode="after")
    def _one_proof(self) -> YouthDeleteRequest:
        if (self.ticket is None) == (self.locator is None):
            raise ValueError("give either ticket or locator")
        if self.conv is not None and self.locator is None:
            raise ValueError("conv goes with locator")
        return self


class DeleteResult(BaseModel):
    deleted: int


class SupervisorDeleteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=5, max_length=500)


async def _delete(
    request: Request,
    state: AppState,
    conv_ids: list[str],
    *,
    by: str,
    audited: tuple[str, str] | None = None,
) -> deletion.Deleted:
    """Delete in one transaction (with the audit row of ``audited`` = (staff id, reason)),
    then announce, request matching, and checkpoint SQLite's WAL."""
    async with transaction(state.sessionmaker) as session:
        if audited is not None:
            for conv_id in conv_ids:
                await deletion.audit_supervisor(
                    session,
                    staff_id=audited[0],
                    conv_id=conv_id,
                    reason=audited[1],
                    now=state.clock(),
                )
        done = await deletion.delete_now(
            session,
            conv_ids,
            by=by,
            now=state.clock(),
            timezone=get_dispatcher(request).setup.schedule.timezone,
        )
    if deletion.announce(state.broker, done, by=by):
        get_dispatcher(request).request_match()
    await checkpoint(state.engine)
    return done


@router.post("/api/youth/delete", tags=["youth"], responses={404: {}, 429: {}})
async def youth_delete(body: YouthDeleteRequest, request: Request) -> DeleteResult:
    """Delete the young person's conversation now (S-18). Nothing of it stays readable; a later
    fetch with the return code answers 404."""
    check_origin(request)
    state = get_state(request)
    now, client = state.clock(), state.client_bucket(request)
    if not state.return_limits.hit(client, now):
        retry = int(state.return_limits.retry_after(client, now)) + 1
        raise TooManyRequests(
            "too many attempts; try again later", headers={"Retry-After": str(retry)}
        )
    async with state.sessionmaker() as session:
        if body.ticket is not None:
            ticket = await triage_repo.ticket_by_digest(session, token_digest(body.ticket))
            ids = [] if ticket is None else await deletion.by_ticket(session, ticket.id)
        else:
            assert body.locator is not None  # noqa: S101 - checked by the model
            ids = await deletion.by_locator(session, body.locator)
            if body.conv is not None:
                ids = [c for c in ids if c == body.conv]
    if not ids:
        raise NotFound("no conversation to delete (it may have expired or been deleted)")
    done = await _delete(request, state, ids, by="Y")
    return DeleteResult(deleted=done.count)


@router.post(
    "/staff/api/conversations/{conv_id}/delete",
    tags=["staff"],
    responses={400: {}, 403: {}, 404: {}},
)
async def supervisor_delete(
    conv_id: str,
    body: SupervisorDeleteRequest,
    request: Request,
    current: Annotated[CurrentStaff, Depends(supervisor_for_change)],
) -> DeleteResult:
    """A supervisor deletes a conversation now, with a reason; the deletion is audited."""
    state = get_state(request)
    async with state.sessionmaker() as session:
        found = await deletion.conversation_exists(session, conv_id)
    if not found:
        raise NotFound("no such conversation (it may have expired or been deleted)")
    audited = (current.staff.id, body.reason.strip())
    done = await _delete(request, state, [conv_id], by="C", audited=audited)
    if not done.count:
        raise DomainError("the conversation was deleted meanwhile")
    return DeleteResult(deleted=done.count)
