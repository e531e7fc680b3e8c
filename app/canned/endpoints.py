"""The canned replies API: any signed-in staff member lists them (the console's composer);
admins create, edit and delete them (the admin page). Origin and CSRF as every staff change."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.canned import engine, service
from app.db import transaction
from app.security.dependencies import CurrentStaff, admin_for_change, current_staff
from app.state import get_state
from app.triage.dispatcher import get_dispatcher
from app.triage.questions import QuestionSet

router = APIRouter(prefix="/staff/api", tags=["staff"])

#: A row id (bounded, so that no number overflows a database integer).
ReplyId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _languages(questions: QuestionSet) -> list[dict[str, str]]:
    """The offered languages as ``{"id","label"}`` (the language question's English label)."""
    question = questions.get("language")
    labels = {} if question is None else {o.id: o.label.get("en", o.id) for o in question.options}
    return [{"id": code, "label": labels.get(code, code)} for code in questions.offered_languages()]


class ReplyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: str = Field(min_length=1, max_length=8)
    # Generous bounds here; engine.check says what a reply may be, naming the field.
    title: str = Field(max_length=400)
    body: str = Field(max_length=8000)

    def draft(self) -> engine.Draft:
        return engine.Draft(self.language, self.title, self.body)


@router.get("/canned-replies")
async def list_replies(
    request: Request,
    _current: Annotated[CurrentStaff, Depends(current_staff)],
    language: Annotated[str | None, Query(max_length=8)] = None,
) -> dict[str, Any]:
    """The canned replies (of ``language``, or of every language) and the centre's offered
    languages. 422 for a language the centre does not offer, 401 without a session."""
    questions = get_dispatcher(request).setup.questions
    if language is not None and language not in questions.offered_languages():
        raise service.InvalidReply("language: not offered here", extra={"field": "language"})
    async with get_state(request).sessionmaker() as session:
        replies = await service.listed(session, language)
    return {"languages": _languages(questions), "replies": replies}


@router.post("/admin/canned-replies", status_code=201)
async def create_reply(
    body: ReplyBody,
    request: Request,
    current: Annotated[CurrentStaff, Depends(admin_for_change)],
) -> dict[str, Any]:
    """201 the new reply. 422 ``invalid_request`` (with ``field``), 409 ``duplicate_title``."""
    state = get_state(request)
    offered = get_dispatcher(request).setup.questions.offered_languages()
    async with transaction(state.sessionmaker) as session:
        reply = await service.create(
            session, body.draft(), offered, by=current.staff.id, now=state.clock()
        )
    return service.as_dict(reply, current.staff.alias)


@router.put("/admin/canned-replies/{id}")
async def update_reply(
    id: ReplyId,
    body: ReplyBody,
    request: Request,
    current: Annotated[CurrentStaff, Depends(admin_for_change)],
) -> dict[str, Any]:
    """200 the reply as changed. 404, 422 ``invalid_request``, 409 ``duplicate_title``."""
    state = get_state(request)
    offered = get_dispatcher(request).setup.questions.offered_languages()
    async with transaction(state.sessionmaker) as session:
        reply = await service.update(
            session, id, body.draft(), offered, by=current.staff.id, now=state.clock()
        )
    return service.as_dict(reply, current.staff.alias)


@router.delete("/admin/canned-replies/{id}", status_code=204, responses={404: {}})
async def delete_reply(
    id: ReplyId,
    request: Request,
    current: Annotated[CurrentStaff, Depends(admin_for_change)],
) -> Response:
    state = get_state(request)
    async with transaction(state.sessionmaker) as session:
        await service.delete(session, id, by=current.staff.id, now=state.clock())
    return Response(status_code=204)
