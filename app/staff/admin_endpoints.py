"""The admins' staff API behind ``/staff/admin`` (issue 11 §3): list, add, edit, disable,
enable, reset password and reset TOTP, with the same service functions as ``vhouse staff``.

Admins only (401 without a session, 403 ``forbidden`` for counsellors and supervisors);
changes need the Origin and CSRF checks of every staff POST. Disabling and credential resets
end the person's sessions, close their console sockets at once in every process (``Logout`` on
their staff channel) and send their open chats back to the queue; an edit of routing applies to
the next pairing (matching runs at once).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import transaction
from app.events import messages
from app.events.channels import staff_channel
from app.events.messages import encode
from app.kit.errors import DomainError
from app.models import Staff
from app.security import dependencies as deps
from app.security import passwords
from app.security.dependencies import CurrentStaff
from app.security.guard import get_guard
from app.staff import admin, rules, service, shifts
from app.staff import repository as repo
from app.staff.admin_schemas import AddStaffRequest, EditStaffRequest, ResetPasswordRequest
from app.state import get_state
from app.triage.dispatcher import get_dispatcher

router = APIRouter(prefix="/staff/api/admin/staff", tags=["admin"])

Username = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,63}$")
]
SKILL_LABELS = {"youth": "Young people", "professional": "Professionals"}


class InvalidAccount(DomainError):
    """A value the account rules refuse; for languages or skills the error names the
    ``field``, the ``unknown`` values and the ``valid`` ones."""

    code = "invalid_account"


class WeakPassword(DomainError):
    code = "weak_password"


def _refused(exc: ValueError) -> DomainError:
    if isinstance(exc, passwords.WeakPassword):
        return WeakPassword(f"password: {exc}")
    if isinstance(exc, rules.BadRouting):
        extra = {"field": exc.field, "unknown": exc.unknown, "valid": exc.valid}
        return InvalidAccount(str(exc), extra=extra)
    return InvalidAccount(str(exc))


Admin = Annotated[CurrentStaff, Depends(deps.admin)]
AdminChange = Annotated[CurrentStaff, Depends(deps.admin_for_change)]


def row(staff: Staff) -> dict[str, Any]:
    """An account as the page and ``vhouse staff list --json`` show it (no secret)."""
    return {
        "username": staff.username,
        "alias": staff.alias,
        "role": staff.role,
        "organisation": staff.organisation,
        "languages": rules.split(staff.languages),
        "skills": rules.split(staff.skills),
        "capacity": staff.capacity,
        "on_duty": staff.on_duty,
        "disabled": staff.disabled,
    }


@router.get("")
async def list_staff(request: Request, _admin: Admin) -> dict[str, Any]:
    """Every account, by username."""
    async with get_state(request).sessionmaker() as session:
        return {"staff": [row(s) for s in await repo.all_staff(session)]}


@router.get("/options")
async def options(request: Request, _admin: Admin) -> dict[str, Any]:
    """What an account may be given here: roles, organisations, capacity bounds, and the
    centre's languages and skill queues (from its question set), each ``{"id","label"}``."""
    centre = get_dispatcher(request).setup.questions
    question = centre.get("language")
    labels = {} if question is None else {o.id: o.label for o in question.options}

    def label(names: Mapping[str, str], fallback: str) -> str:
        return names.get("en") or next(iter(names.values()), fallback)

    return {
        "roles": list(rules.ROLES),
        "organisations": list(rules.ORGANISATIONS),
        "capacity": {"min": rules.CAPACITY_MIN, "max": rules.CAPACITY_MAX},
        "languages": [
            {"id": code, "label": label(labels.get(code, {}), code)}
            for code in centre.offered_languages()
        ],
        "skills": [
            {"id": skill, "label": SKILL_LABELS.get(skill, skill)}
            for skill in service.served_skills(centre)
        ],
    }


@router.post("", status_code=201, responses={400: {}, 409: {}})
async def add(body: AddStaffRequest, request: Request, current: AdminChange) -> dict[str, Any]:
    """A new account, off duty. Answers its TOTP secret and provisioning URI (and a generated
    password when none was given) once: they are never shown again."""
    state = get_state(request)
    generated = body.password is None
    password = admin.generated_password(body.username) if body.password is None else body.password
    try:
        async with transaction(state.sessionmaker) as session:
            created = await service.add_staff(
                session,
                username=body.username,
                alias=body.alias,
                password=password,
                role=body.role,  # type: ignore[arg-type]  # checked by add_staff
                languages=body.languages,
                skills=body.skills,
                capacity=body.capacity,
                organisation=body.organisation,
                now=state.clock(),
                server_secret=get_guard(request).secret,
                centre=get_dispatcher(request).setup.questions,
                actor=current.staff.id,
            )
            staff = await repo.by_id(session, created.staff_id)
    except ValueError as exc:
        raise _refused(exc) from None
    assert staff is not None  # noqa: S101 - added in this transaction
    return {
        "account": row(staff),
        "totp_secret": created.totp_secret,
        "provisioning_uri": created.provisioning_uri,
        "password": password if generated else None,
    }


@router.patch("/{username}", responses={400: {}, 404: {}, 409: {}})
async def edit(
    username: Username, body: EditStaffRequest, request: Request, current: AdminChange
) -> dict[str, Any]:
    """Change alias, role, organisation, languages, skills or capacity; ``changed`` says what
    did (``{field: [old, new]}``). A routing change applies to the next pairing."""
    state = get_state(request)
    dispatcher = get_dispatcher(request)
    edit = rules.Edit(**body.model_dump())
    try:
        async with transaction(state.sessionmaker) as session:
            done = await admin.edit_staff(
                session,
                username,
                edit,
                centre=dispatcher.setup.questions,
                now=state.clock(),
                actor=current.staff.id,
            )
            staff = await repo.by_id(session, done.staff_id)
    except ValueError as exc:
        raise _refused(exc) from None
    assert staff is not None  # noqa: S101 - read in this transaction
    if done.routing_changed:
        dispatcher.queue_changed()  # who can serve a waiting ticket may have changed
        dispatcher.request_match()
    return {"account": row(staff), "changed": done.changed}


async def _end_access(request: Request, session: AsyncSession, staff_id: str) -> Any:
    """In the caller's transaction: the shift ends and the held chats go back to the queue."""
    return await shifts.end_shift(session, staff_id, get_state(request).clock())


def _after_end(request: Request, staff_id: str, ended: tuple[bool, Any]) -> None:
    """After commit: tell the young people and close every console of the account (R-3)."""
    state = get_state(request)
    dispatcher = get_dispatcher(request)
    shifts.announce_end(state.broker, dispatcher, staff_id, ended[0], ended[1])
    logout = messages.Logout(session=messages.ALL_SESSIONS)
    state.broker.publish(staff_channel(staff_id), encode(logout))
    dispatcher.queue_changed()
    dispatcher.request_match()


@router.post("/{username}/disable", responses={404: {}, 409: {}})
async def disable(username: Username, request: Request, current: AdminChange) -> dict[str, Any]:
    """Disable the account now: sessions and devices end, its consoles close, its chats go
    back to the queue. 409 ``conflict`` if it was disabled already, ``last_admin`` for the
    last enabled admin."""
    state = get_state(request)
    async with transaction(state.sessionmaker) as session:
        staff = await service.account(session, username)
        held = await service.disable_staff(session, username, state.clock(), actor=current.staff.id)
        ended = await _end_access(request, session, staff.id)
        shown = row(await repo.reload(session, staff))
    _after_end(request, staff.id, ended)
    return {"account": shown, "requeued": len(held)}


@router.post("/{username}/enable", responses={404: {}, 409: {}})
async def enable(username: Username, request: Request, current: AdminChange) -> dict[str, Any]:
    """Enable a disabled account; 409 ``conflict`` if it was enabled."""
    state = get_state(request)
    async with transaction(state.sessionmaker) as session:
        staff_id = await admin.enable_staff(
            session, username, state.clock(), actor=current.staff.id
        )
        staff = await repo.by_id(session, staff_id)
    assert staff is not None  # noqa: S101 - read in this transaction
    return {"account": row(staff)}


@router.post("/{username}/reset-password", responses={400: {}, 404: {}})
async def reset_password(
    username: Username,
    request: Request,
    current: AdminChange,
    body: ResetPasswordRequest | None = None,
) -> dict[str, Any]:
    """A new password (given, or generated and answered once as ``password``); the account's
    sessions end, its consoles close and its chats go back to the queue."""
    state = get_state(request)
    try:
        async with transaction(state.sessionmaker) as session:
            done = await admin.reset_password(
                session,
                username,
                None if body is None else body.password,
                state.clock(),
                secret=get_guard(request).secret,
                actor=current.staff.id,
            )
            ended = await _end_access(request, session, done.staff_id)
    except ValueError as exc:
        raise _refused(exc) from None
    _after_end(request, done.staff_id, ended)
    return {"username": done.username, "password": done.password, "requeued": len(done.held)}


@router.post("/{username}/reset-totp", responses={404: {}})
async def reset_totp(username: Username, request: Request, current: AdminChange) -> dict[str, Any]:
    """A new TOTP secret and provisioning URI, answered once; the account's sessions end, its
    consoles close and its chats go back to the queue."""
    state = get_state(request)
    async with transaction(state.sessionmaker) as session:
        done = await admin.reset_totp(
            session,
            username,
            state.clock(),
            server_secret=get_guard(request).secret,
            actor=current.staff.id,
        )
        ended = await _end_access(request, session, done.staff_id)
    _after_end(request, done.staff_id, ended)
    return {
        "username": done.username,
        "totp_secret": done.totp_secret,
        "provisioning_uri": done.provisioning_uri,
        "requeued": len(done.held),
    }
