"""Staff administration beyond adding and disabling (``service.py``): edit an account's alias,
role, organisation, languages, skills and capacity; enable it again; reset its password or its
TOTP secret. Shared by ``vhouse staff`` and the admin pages (``admin_endpoints.py``); every
action is audited with the actor, the target username and what changed — never a password or a
secret. Services never commit.

A credential reset ends every session of the account and revokes its devices (registered with
the old credentials): its consoles close (at once when the caller publishes ``Logout``, else
at their next session check, within ``SESSION_QUICK_CHECK_SECONDS``) and the chats it holds go
back to the queue as for ``disable``.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.keys import devices
from app.kit.errors import Conflict
from app.models import Staff
from app.security import passwords, totp, totpseal
from app.security import repository as security_repo
from app.security.secret import name_digest
from app.staff import repository as repo
from app.staff import rules, service
from app.triage import repository as triage_repo
from app.triage.questions import QuestionSet

#: Bytes of randomness in a generated password (20 characters of base64url).
GENERATED_PASSWORD_BYTES = 15


class AliasTaken(Conflict):
    code = "alias_taken"


class AlreadyEnabled(Conflict):
    """The account was enabled already: nothing changed."""


@dataclass(frozen=True, slots=True)
class Edited:
    staff_id: str
    username: str
    #: ``{field: [old, new]}`` of what changed (empty: nothing did).
    changed: dict[str, list[str | int]]

    @property
    def routing_changed(self) -> bool:
        """Whether matching must run again: who may be paired with whom changed."""
        return bool(set(self.changed) & {"languages", "skills", "capacity", "organisation"})


@dataclass(frozen=True, slots=True)
class Reset:
    staff_id: str
    username: str
    #: Conversations still held: the caller's ``shifts.end_shift`` (or the running service's
    #: session check and sweep) sends each back to the queue.
    held: list[str]
    #: A generated password, or a new TOTP secret with its provisioning URI: shown once.
    password: str | None = None
    totp_secret: str | None = None
    provisioning_uri: str | None = None


def generated_password(username: str) -> str:
    """A random password for an admin to hand over once, passing the policy (a short username
    may turn up in a random string: then another is drawn)."""
    while True:
        password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
        try:
            passwords.check_policy(password, username=username.strip().lower())
        except passwords.WeakPassword:
            continue
        return password


def profile(staff: Staff) -> dict[str, str | int]:
    """The editable fields as stored."""
    return {
        "alias": staff.alias,
        "role": staff.role,
        "organisation": staff.organisation,
        "languages": staff.languages,
        "skills": staff.skills,
        "capacity": staff.capacity,
    }


async def edit_staff(
    session: AsyncSession,
    username: str,
    edit: rules.Edit,
    *,
    centre: QuestionSet,
    now: float,
    actor: str | None = None,
) -> Edited:
    """Change what ``edit`` sets. Raises ``ValueError`` (``BadRouting`` for languages or skills
    the centre does not route), ``NotFound``, ``AliasTaken`` or ``LastAdmin``; nothing changes
    then. Audited as ``staff.edit`` with ``{field: [old, new]}`` when anything changed."""
    staff = await service.account(session, username)
    values = rules.normalise(edit)
    rules.check_routing(
        rules.split(str(values.get("languages", ""))),
        rules.split(str(values.get("skills", ""))),
        offered=centre.offered_languages(),
        served=service.served_skills(centre),
    )
    changed = rules.changes(profile(staff), values)
    if "alias" in changed and await repo.alias_taken_by_other(
        session, str(values["alias"]), staff.id
    ):
        raise AliasTaken(
            f"the alias {values['alias']!r} is taken by another account: young people could "
            "not tell the two apart"
        )
    if "role" in changed:
        await service.check_not_last_admin(session, staff, still_admin=values["role"] == "admin")
    if changed:
        repo.update_profile(staff, {name: new for name, (_, new) in changed.items()})
        await service.audited(session, actor, "staff.edit", staff.username, now, changed=changed)
    return Edited(staff.id, staff.username, changed)


async def enable_staff(
    session: AsyncSession, username: str, now: float, *, actor: str | None = None
) -> str:
    """Enable a disabled account (off duty; it logs in and registers a device anew). Returns
    its id; raises ``NotFound`` or ``AlreadyEnabled``."""
    staff = await service.account(session, username)
    if not staff.disabled:
        raise AlreadyEnabled(f"{staff.username} is enabled already; nothing changed")
    repo.enable(staff)
    await service.audited(session, actor, "staff.enable", staff.username, now)
    return staff.id


async def _end_access(session: AsyncSession, staff: Staff, now: float) -> list[str]:
    """Every session ended and every device revoked; the chats still held."""
    await security_repo.delete_sessions_of(session, staff.id)
    await devices.revoke_all(session, staff.id, now)
    return [c.id for c in await triage_repo.held_conversations(session, staff.id)]


async def reset_password(
    session: AsyncSession,
    username: str,
    password: str | None,
    now: float,
    *,
    secret: bytes | None,
    actor: str | None = None,
) -> Reset:
    """Set a new password (``password``, checked by the password policy; None: a generated one,
    returned once). Ends the account's sessions and revokes its devices, and forgets the
    failed logins of its name (keyed with the server ``secret``; None: without the key
    directory they stay until the failure window passes), so a locked-out person can log in
    with the new password at once. Raises
    ``WeakPassword`` or ``NotFound``. Audited as ``staff.reset_password`` (never the password)."""
    name = username.strip().lower()
    generated = password is None
    new = generated_password(name) if password is None else password
    passwords.check_policy(new, username=name)
    # Hashed before the first query: the argon2 hash never runs inside a database lock.
    digest = await asyncio.to_thread(passwords.hash_password, new)
    staff = await service.account(session, name)
    repo.set_password_hash(staff, digest)
    if secret is not None:
        await security_repo.clear_failures(session, name_digest(secret, staff.username))
    held = await _end_access(session, staff, now)
    await service.audited(
        session, actor, "staff.reset_password", staff.username, now, generated=generated
    )
    return Reset(staff.id, staff.username, held, password=new if generated else None)


async def reset_totp(
    session: AsyncSession,
    username: str,
    now: float,
    *,
    server_secret: bytes,
    actor: str | None = None,
) -> Reset:
    """A new TOTP secret (returned once, with its provisioning URI; stored sealed under
    ``server_secret``). Ends the account's sessions and revokes its devices. Raises
    ``NotFound``. Audited as ``staff.reset_totp``."""
    staff = await service.account(session, username)
    secret = totp.new_secret()
    repo.set_totp_secret(staff, totpseal.seal(server_secret, staff.id, secret))
    held = await _end_access(session, staff, now)
    await service.audited(session, actor, "staff.reset_totp", staff.username, now)
    return Reset(
        staff.id,
        staff.username,
        held,
        totp_secret=secret,
        provisioning_uri=totp.provisioning_uri(secret, staff.username),
    )
