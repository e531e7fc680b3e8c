"""The staff JSON API used by the console page: login, logout and "who am I", and colleagues
on duty for transfers (DESIGN.md §3.6)."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response

from app.chat import repository as chat_repo
from app.db import transaction
from app.events import messages
from app.events.channels import staff_channel
from app.events.messages import encode
from app.keys import devices
from app.kit.errors import Conflict, NotAuthenticated, NotFound, TooManyRequests
from app.security import freshlogin, service
from app.security.dependencies import (
    CurrentStaff,
    check_origin,
    current_staff,
    staff_for_change,
)
from app.security.guard import get_guard
from app.security.secret import session_digest
from app.staff import repository as staff_repo
from app.staff import shifts
from app.staff.schemas import LoginRequest, LogoutRequest, ReauthRequest, Renewed, SessionInfo
from app.state import get_state
from app.triage import handover
from app.triage import repository as triage_repo
from app.triage.dispatcher import get_dispatcher
from app.triage.engine import QueueKey

T = TypeVar("T")

router = APIRouter(prefix="/staff/api", tags=["staff"])

REFUSED = "wrong username, password or code"


def _accepted(outcome: T | service.Refused | service.Locked) -> T:
    """``outcome`` if the password and code were accepted; 429 with Retry-After for a locked-out
    name, 401 for a refused password or code."""
    if isinstance(outcome, service.Locked):
        raise TooManyRequests(
            "too many failed attempts; try again later",
            headers={"Retry-After": str(outcome.retry_after)},
        )
    if isinstance(outcome, service.Refused):
        raise NotAuthenticated(REFUSED)
    return outcome


@router.post("/login", response_model=SessionInfo, responses={401: {}, 429: {}})
async def login(body: LoginRequest, request: Request, response: Response) -> SessionInfo:
    check_origin(request)
    state = get_state(request)
    guard = get_guard(request)
    # Per client bucket (a keyed hash of the address, in memory only): 429 login_rate_limited.
    guard.check_bucket(state.client_bucket(request), state.clock())
    outcome = _accepted(
        await service.login(
            state.sessionmaker,
            state.settings,
            secret=guard.secret,
            hashes=guard.hashes,
            username=body.username,
            password=body.password,
            code=body.totp,
            now=state.clock(),
        )
    )
    settings = state.settings
    response.set_cookie(
        settings.cookie_name,
        outcome.token,
        max_age=settings.session_absolute_seconds,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )
    async with transaction(state.sessionmaker) as session:
        found = await service.authenticate(
            session, settings, outcome.token, state.clock(), secret=guard.secret
        )
    if found is None:  # pragma: no cover - the session was created a moment ago
        raise NotAuthenticated(REFUSED)
    return SessionInfo(
        staff_id=found[1].id,
        alias=found[1].alias,
        role=found[1].role,
        csrf_token=outcome.csrf_token,
        fresh_login=freshlogin.issue(
            guard.secret,
            staff_id=found[1].id,
            session_digest=session_digest(guard.secret, outcome.token),
            now=state.clock(),
        ),
    )


@router.get("/me", response_model=SessionInfo)
async def me(current: CurrentStaff = Depends(current_staff)) -> SessionInfo:  # noqa: B008
    return SessionInfo(
        staff_id=current.staff.id,
        alias=current.staff.alias,
        role=current.staff.role,
        csrf_token=current.record.csrf_token,
    )


class OpenChats(Conflict):
    """Logging out would leave chats without a counsellor: the console asks first."""

    code = "open_chats"


@router.post("/logout", status_code=204, responses={409: {}})
async def logout(
    request: Request,
    response: Response,
    body: LogoutRequest | None = None,
    current: CurrentStaff = Depends(staff_for_change),  # noqa: B008
) -> None:
    """End the session and the shift. With open chats: 409 ``open_chats`` listing them, unless
    ``force`` (the counsellor chose): then each goes back to the front of its queue and its
    young person is told."""
    state = get_state(request)
    staff_id, now = current.staff.id, state.clock()
    async with transaction(state.sessionmaker) as session:
        held = await triage_repo.held_conversations(session, staff_id)
        if held and not (body is not None and body.force):
            convs = sorted(c.id for c in held)
            raise OpenChats(
                "you still hold open chats: transfer or close each, or log out anyway",
                extra={"conversations": convs},
            )
        await service.logout(session, current.record)
        # Logging out ends the shift: no new chats, and none left with nobody (S-22).
        was_on, changes = await shifts.end_shift(session, staff_id, now)
    shifts.announce_end(state.broker, get_dispatcher(request), staff_id, was_on, changes)
    # Close this session's console sockets, in every process.
    logout = messages.Logout(session=current.record.token_digest)
    state.broker.publish(staff_channel(staff_id), encode(logout))
    response.delete_cookie(
        state.settings.cookie_name,
        path="/",
        secure=state.settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )


@router.post("/reauth", response_model=Renewed, responses={429: {}})
async def reauth(
    body: ReauthRequest,
    request: Request,
    response: Response,
    current: CurrentStaff = Depends(staff_for_change),  # noqa: B008
) -> Renewed:
    """Password + TOTP again, before the absolute limit: the session (and its open consoles,
    with their chats) lives on for another ``VH_SESSION_ABSOLUTE_SECONDS``. Audited. Answers a
    new fresh-login proof (a device may be registered after it)."""
    state = get_state(request)
    outcome = _accepted(
        await service.reauthenticate(
            state.sessionmaker,
            state.settings,
            current.record,
            secret=get_guard(request).secret,
            hashes=get_guard(request).hashes,
            password=body.password,
            code=body.totp,
            now=state.clock(),
        )
    )
    token = request.cookies.get(state.settings.cookie_name, "")
    response.set_cookie(
        state.settings.cookie_name,
        token,
        max_age=state.settings.session_absolute_seconds,
        path="/",
        secure=state.settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )
    proof = freshlogin.issue(
        get_guard(request).secret,
        staff_id=current.staff.id,
        session_digest=current.record.token_digest,
        now=state.clock(),
    )
    return Renewed(expires_at=int(outcome), fresh_login=proof)


@router.get("/colleagues")
async def colleagues(
    request: Request,
    current: CurrentStaff = Depends(current_staff),  # noqa: B008
) -> dict[str, Any]:
    """Colleagues on duty with a console: alias, organisation, skills, languages, load, and the
    certified device a warm-transfer note is sealed to (the console checks the certificate)."""
    state = get_state(request)
    async with state.sessionmaker() as session:
        on_duty = {c.id: c for c in await triage_repo.on_duty_counsellors(session)}
        rows = await staff_repo.staff_by_ids(session, list(on_duty))
        listed = []
        for staff in sorted(rows, key=lambda s: s.alias.lower()):
            if staff.id == current.staff.id or staff.duty_device_id is None:
                continue
            device = await devices.by_id(session, staff.duty_device_id)
            counsellor = on_duty[staff.id]
            listed.append(
                {
                    "staff_id": staff.id,
                    "alias": staff.alias,
                    "organisation": staff.organisation,
                    "skills": sorted(counsellor.skills),
                    "languages": sorted(counsellor.languages),
                    "load": counsellor.load,
                    "capacity": counsellor.capacity,
                    "device": None if device is None else device.as_dict(),
                }
            )
    return {"colleagues": listed}


@router.get("/queue-served", responses={404: {}})
async def queue_served(
    request: Request,
    conv: str = Query(min_length=22, max_length=22, pattern=r"^[A-Za-z0-9_-]{22}$"),
    queue: str = Query(pattern=r"^(youth|professional)$"),
    skill: str | None = Query(default=None, max_length=32, pattern=r"^[A-Za-z0-9_]+$"),
    current: CurrentStaff = Depends(current_staff),  # noqa: B008
) -> dict[str, Any]:
    """Before a transfer to a queue: whether anyone on duty but the caller can serve the
    caller's conversation there (its language and organisation, the queue's kind and skill).
    404 for a conversation the caller does not hold."""
    state = get_state(request)
    target = QueueKey(queue, skill or None)
    async with state.sessionmaker() as session:
        try:
            served = await handover.queue_served(
                session, conv_id=conv, staff_id=current.staff.id, queue=target
            )
        except handover.TransferRefused:
            raise NotFound("you do not hold this conversation") from None
    return {"queue": str(target), "served": served}


@router.get("/conversations/{conv_id}/summary", responses={404: {}})
async def triage_summary(
    conv_id: str,
    request: Request,
    current: CurrentStaff = Depends(current_staff),  # noqa: B008
) -> dict[str, Any]:
    """What the young person (or professional) answered in triage, for the counsellor holding
    the chat: kind, language, topic, age band, danger now, and how long they waited before this
    pairing. Labels in English. 404 for a conversation the caller does not hold."""
    state = get_state(request)
    questions = get_dispatcher(request).setup.questions
    async with state.sessionmaker() as session:
        conv = await chat_repo.conversation_row(session, conv_id)
        if conv is None or conv.staff_id != current.staff.id:
            raise NotFound("you do not hold this conversation")
        ticket = await triage_repo.ticket_by_id(session, conv.ticket_id)
    if ticket is None:
        raise NotFound("you do not hold this conversation")

    def answer(question_id: str, option_id: str | None) -> dict[str, str] | None:
        question = questions.get(question_id)
        option = None if question is None or option_id is None else question.option(option_id)
        if option is None or option_id is None:
            return None
        label = option.label.get("en") or next(iter(option.label.values()), option_id)
        return {"id": option_id, "label": label}

    paired_at = ticket.assigned_at or conv.opened_at
    return {
        "kind": ticket.kind,
        "language": ticket.language,
        "topic": answer("topic", ticket.topic),
        "age_band": answer("age_band", ticket.age_band),
        "danger_now": ticket.urgent,
        "joined_at": round(ticket.joined_at),
        "opened_at": round(conv.opened_at),
        "waited_seconds": round(max(0.0, paired_at - ticket.joined_at)),
    }
