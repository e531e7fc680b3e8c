"""Staff accounts and duty."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import repository as audit_log
from app.keys import devices
from app.kit.errors import Conflict, NotFound
from app.kit.ids import new_id
from app.security import passwords, totp
from app.security import repository as security_repo
from app.staff import repository as repo
from app.triage import repository as triage_repo
from app.triage.questions import FIXED_OPTIONS, QuestionSet
from app.types import StaffId, StaffRole

ROLES: tuple[StaffRole, ...] = ("counsellor", "supervisor", "admin")
#: Organisations whose staff share shifts in the house: a routing attribute (triage engine).
ORGANISATIONS = ("municipality", "health care", "police")


@dataclass(frozen=True, slots=True)
class NewStaff:
    staff_id: StaffId
    totp_secret: str
    provisioning_uri: str


class AlreadyDisabled(Conflict):
    """The account was disabled before: nothing changed."""


def _csv(values: list[str]) -> str:
    return ",".join(sorted({v.strip().lower() for v in values if v.strip()}))


def check_routing(centre: QuestionSet, languages: list[str], skills: list[str]) -> None:
    """Raise ``ValueError`` naming the valid values unless every language is one the centre
    offers young people and every skill a queue kind or a skill queue its topics route to: a
    counsellor with neither would never be routed a chat."""
    offered = centre.offered_languages()
    unknown = sorted(set(_csv(languages).split(",")) - set(offered) - {""})
    if unknown:
        raise ValueError(
            f"languages: {', '.join(unknown)} not offered here; use among {', '.join(offered)}"
        )
    served = (*FIXED_OPTIONS["kind"], *centre.skills())
    unknown = sorted(set(_csv(skills).split(",")) - set(served) - {""})
    if unknown:
        raise ValueError(
            f"skills: {', '.join(unknown)} not a queue here; use among {', '.join(served)}"
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
    organisation: str = "municipality",
    centre: QuestionSet | None = None,
) -> NewStaff:
    """Create an account; raise ``WeakPassword``, ``ValueError`` or ``Conflict``.

    With ``centre`` (the CLI and the admin pages pass the centre's question set) the languages
    and skills must be the centre's (``check_routing``) and the alias must be free: two
    counsellors young people cannot tell apart are refused. Without it anything well-formed
    is taken (tests route with made-up languages to keep apart; the demo seeds its own).
    """
    username = username.strip().lower()
    if (
        not username
        or len(username) > 64
        or not username.replace(".", "").replace("-", "").isalnum()
    ):
        raise ValueError("username: 1-64 letters, digits, '.' or '-'")
    alias = alias.strip()
    if not alias or len(alias) > 64:
        raise ValueError("alias: 1-64 characters")
    if role not in ROLES:
        raise ValueError(f"role: one of {', '.join(ROLES)}")
    if organisation not in ORGANISATIONS:
        raise ValueError(f"organisation: one of {', '.join(ORGANISATIONS)}")
    if not 1 <= capacity <= 10:
        raise ValueError("capacity: 1-10 chats at once")
    if not _csv(languages):
        raise ValueError("languages: at least one language code")
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
    staff = repo.add_account(
        session,
        staff_id=StaffId(new_id()),
        username=username,
        alias=alias,
        role=role,
        password_hash=passwords.hash_password(password),
        totp_secret=secret,
        languages=_csv(languages),
        skills=_csv(skills) or "youth",
        capacity=capacity,
        organisation=organisation,
        now=now,
    )
    await audit_log.audit(
        session, staff_id=None, action="staff.add", detail=f"{staff.id} {role}", now=now
    )
    return NewStaff(staff.id, secret, totp.provisioning_uri(secret, username))


async def disable_staff(session: AsyncSession, username: str, now: float) -> list[str]:
    """Disable an account at once: off duty, every session ended, every device revoked.
    Returns the ids of the chats it still holds: the running service's staff sweep
    (``shifts.sweep``) sends each back to the front of its queue within seconds and tells the
    young person, in whichever process their socket is.

    Consoles of the account close within seconds (their session check finds no session).
    Raises ``NotFound``, or ``AlreadyDisabled`` (nothing is changed then).
    """
    username = username.strip().lower()
    staff = await repo.by_username(session, username)
    if staff is None:
        raise NotFound(f"no staff member called {username!r}")
    if staff.disabled:
        raise AlreadyDisabled(f"{username} is already disabled; nothing changed")
    await repo.set_duty(session, staff.id, False, now)
    repo.disable(staff)
    await security_repo.delete_sessions_of(session, staff.id)
    await devices.revoke_all(session, staff.id, now)
    held = await triage_repo.held_conversations(session, staff.id)
    await audit_log.audit(session, staff_id=None, action="staff.disable", detail=staff.id, now=now)
    return [c.id for c in held]
