"""Staff accounts and duty."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import repository as audit_log
from app.keys import devices
from app.kit.errors import Conflict, NotFound
from app.kit.ids import new_id
from app.models import Staff
from app.security import passwords, totp, totpseal
from app.security import repository as security_repo
from app.staff import repository as repo
from app.staff import rules
from app.staff.rules import ORGANISATIONS, ROLES, BadRouting
from app.triage import repository as triage_repo
from app.triage.questions import FIXED_OPTIONS, QuestionSet
from app.types import StaffId, StaffRole

__all__ = ["ORGANISATIONS", "ROLES", "BadRouting", "add_staff", "check_routing", "disable_staff"]


@dataclass(frozen=True, slots=True)
class NewStaff:
    staff_id: StaffId
    totp_secret: str
    provisioning_uri: str


class AlreadyDisabled(Conflict):
    """The account was disabled before: nothing changed."""


class LastAdmin(Conflict):
    """The change would leave no enabled admin account: nobody could administer the house."""

    code = "last_admin"


def served_skills(centre: QuestionSet) -> tuple[str, ...]:
    """What a counsellor's skills may name: the queue kinds and the centre's skill queues."""
    return (*FIXED_OPTIONS["kind"], *centre.skills())


def check_routing(centre: QuestionSet, languages: list[str], skills: list[str]) -> None:
    """Raise ``BadRouting`` (a ``ValueError``) naming the valid values unless every language is
    one the centre offers young people and every skill a queue kind or a skill queue its topics
    route to: a counsellor with neither would never be routed a chat."""
    rules.check_routing(
        languages, skills, offered=centre.offered_languages(), served=served_skills(centre)
    )


async def add_staff(
    session: AsyncSession,
    *,
    username: str,
    alias: str,
    password: str,
    role: StaffRole,
    languages: list[str],
    skills: list[str],
    capacity: int,
    now: float,
    server_secret: bytes,
    organisation: str = "municipality",
    centre: QuestionSet | None = None,
    actor: str | None = None,
) -> NewStaff:
    """Create an account; raise ``WeakPassword``, ``ValueError`` or ``Conflict``.

    With ``centre`` (the CLI and the admin pages pass the centre's question set) the languages
    and skills must be the centre's (``check_routing``) and the alias must be free: two
    counsellors young people cannot tell apart are refused. Without it anything well-formed
    is taken (tests route with made-up languages to keep apart; the demo seeds its own).
    Audited (``staff.add``) with ``actor`` (the admin's staff id; None from the CLI). The TOTP
    secret is stored sealed under ``server_secret`` (``totpseal``) and returned once.
    """
    username = rules.check_username(username)
    alias = rules.check_alias(alias)
    rules.check_role(role)
    rules.check_organisation(organisation)
    rules.check_capacity(capacity)
    stored_languages = rules.check_languages(languages)
    if centre is not None:
        check_routing(centre, languages, skills)
    passwords.check_policy(password, username=username)
    if await repo.by_username(session, username) is not None:
        raise Conflict(f"a staff member called {username!r} exists")
    if centre is not None and await repo.alias_taken(session, alias):
        raise Conflict(
            f"the alias {alias!r} is taken by another account: young people could not tell "
            "the two apart"
        )
    secret = totp.new_secret()
    staff_id = StaffId(new_id())
    staff = repo.add_account(
        session,
        staff_id=staff_id,
        username=username,
        alias=alias,
        role=role,
        password_hash=passwords.hash_password(password),
        totp_secret=totpseal.seal(server_secret, staff_id, secret),
        languages=stored_languages,
        skills=rules.csv(skills) or "youth",
        capacity=capacity,
        organisation=organisation,
        now=now,
    )
    profile = {
        "alias": alias,
        "role": role,
        "organisation": organisation,
        "languages": staff.languages,
        "skills": staff.skills,
        "capacity": capacity,
    }
    await audited(session, actor, "staff.add", username, now, created=profile)
    return NewStaff(staff.id, secret, totp.provisioning_uri(secret, username))


async def audited(
    session: AsyncSession, actor: str | None, action: str, target: str, now: float, **what: Any
) -> None:
    """An audit row for an admin action: who (``actor``, None for the CLI), on which account,
    and what changed, as JSON. Never a password or secret: callers pass neither."""
    detail = json.dumps({"target": target, **what}, sort_keys=True, ensure_ascii=False)
    await audit_log.audit(session, staff_id=actor, action=action, detail=detail, now=now)


async def account(session: AsyncSession, username: str) -> Staff:
    """The account called ``username`` (any case); ``NotFound`` otherwise."""
    username = username.strip().lower()
    staff = await repo.by_username(session, username)
    if staff is None:
        raise NotFound(f"no staff member called {username!r}")
    return staff


async def check_not_last_admin(session: AsyncSession, staff: Staff, *, still_admin: bool) -> None:
    """``LastAdmin`` when the change would take away the last enabled admin account."""
    if rules.leaves_no_admin(
        target_is_admin=staff.role == "admin",
        target_enabled=not staff.disabled,
        enabled_admins=await repo.count_enabled_admins(session),
        still_admin=still_admin,
    ):
        raise LastAdmin(
            f"{staff.username} is the last enabled admin: make another account admin first"
        )


async def disable_staff(
    session: AsyncSession, username: str, now: float, *, actor: str | None = None
) -> list[str]:
    """Disable an account at once: off duty, every session ended, every device revoked.
    Returns the ids of the chats it still holds: the running service's staff sweep
    (``shifts.sweep``) sends each back to the front of its queue within seconds and tells the
    young person, in whichever process their socket is.

    Consoles of the account close within seconds (their session check finds no session).
    Raises ``NotFound``, ``AlreadyDisabled`` or ``LastAdmin`` (nothing is changed then).
    """
    staff = await account(session, username)
    if staff.disabled:
        raise AlreadyDisabled(f"{staff.username} is already disabled; nothing changed")
    await check_not_last_admin(session, staff, still_admin=False)
    await repo.set_duty(session, staff.id, False, now)
    repo.disable(staff)
    await security_repo.delete_sessions_of(session, staff.id)
    await devices.revoke_all(session, staff.id, now)
    held = await triage_repo.held_conversations(session, staff.id)
    await audited(session, actor, "staff.disable", staff.username, now, open_chats=len(held))
    return [c.id for c in held]
