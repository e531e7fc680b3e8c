"""What a staff account may look like, as pure rules (no I/O): usernames, aliases, roles,
organisations, capacity, the centre's languages and skill queues, what an edit changes, and the
last-admin rule. ``service.py`` and ``admin.py`` apply them; the CLI and the admin pages share
them through those."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

ROLES = ("counsellor", "supervisor", "admin")
#: Organisations whose staff share shifts in the house: a routing attribute (triage engine).
ORGANISATIONS = ("municipality", "health care", "police")
CAPACITY_MIN, CAPACITY_MAX = 1, 10
#: The account fields an admin may edit, in the order they are shown and audited.
EDITABLE = ("alias", "role", "organisation", "languages", "skills", "capacity")


class BadRouting(ValueError):
    """Languages or skills the centre does not route: ``field``, the ``unknown`` values (as
    given, normalised) and the ``valid`` ones, for a message and an error body alike."""

    def __init__(self, field: str, unknown: Sequence[str], valid: Sequence[str]) -> None:
        what = "not offered here" if field == "languages" else "not a queue here"
        super().__init__(f"{field}: {', '.join(unknown)} {what}; use among {', '.join(valid)}")
        self.field = field
        self.unknown = list(unknown)
        self.valid = list(valid)


def csv(values: Iterable[str]) -> str:
    """Comma-separated, trimmed, lower-case, sorted and without repeats (as stored)."""
    return ",".join(sorted({v.strip().lower() for v in values if v.strip()}))


def split(stored: str) -> list[str]:
    return [v for v in stored.split(",") if v]


def check_routing(
    languages: Iterable[str],
    skills: Iterable[str],
    *,
    offered: Sequence[str],
    served: Sequence[str],
) -> None:
    """Raise ``BadRouting`` unless every language is ``offered`` to young people and every skill
    is a queue kind or skill queue in ``served``: a counsellor with another would silently never
    be routed a chat."""
    unknown = sorted(set(split(csv(languages))) - set(offered))
    if unknown:
        raise BadRouting("languages", unknown, offered)
    unknown = sorted(set(split(csv(skills))) - set(served))
    if unknown:
        raise BadRouting("skills", unknown, served)


def check_username(username: str) -> str:
    username = username.strip().lower()
    if (
        not username
        or len(username) > 64
        or not username.replace(".", "").replace("-", "").isalnum()
    ):
        raise ValueError("username: 1-64 letters, digits, '.' or '-'")
    return username


def check_alias(alias: str) -> str:
    alias = alias.strip()
    if not alias or len(alias) > 64:
        raise ValueError("alias: 1-64 characters")
    if any(ch in alias for ch in "\r\n\t") or not alias.isprintable():
        raise ValueError("alias: printable characters on one line")
    return alias


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role: one of {', '.join(ROLES)}")
    return role


def check_organisation(organisation: str) -> str:
    if organisation not in ORGANISATIONS:
        raise ValueError(f"organisation: one of {', '.join(ORGANISATIONS)}")
    return organisation


def check_capacity(capacity: int) -> int:
    if not CAPACITY_MIN <= capacity <= CAPACITY_MAX:
        raise ValueError(f"capacity: {CAPACITY_MIN}-{CAPACITY_MAX} chats at once")
    return capacity


def check_languages(languages: Iterable[str]) -> str:
    stored = csv(languages)
    if not stored:
        raise ValueError("languages: at least one language code")
    return stored


@dataclass(frozen=True, slots=True)
class Edit:
    """The fields an edit sets (None: unchanged), as given."""

    alias: str | None = None
    role: str | None = None
    organisation: str | None = None
    languages: Sequence[str] | None = None
    skills: Sequence[str] | None = None
    capacity: int | None = None


def normalise(edit: Edit) -> dict[str, str | int]:
    """The stored form of every field ``edit`` sets; ``ValueError`` (or ``BadRouting`` from
    the caller's ``check_routing``) for a bad one. Skills may not be emptied: ``youth``."""
    out: dict[str, str | int] = {}
    if edit.alias is not None:
        out["alias"] = check_alias(edit.alias)
    if edit.role is not None:
        out["role"] = check_role(edit.role)
    if edit.organisation is not None:
        out["organisation"] = check_organisation(edit.organisation)
    if edit.languages is not None:
        out["languages"] = check_languages(edit.languages)
    if edit.skills is not None:
        out["skills"] = csv(edit.skills) or "youth"
    if edit.capacity is not None:
        out["capacity"] = check_capacity(edit.capacity)
    return out


def changes(
    before: Mapping[str, str | int], after: Mapping[str, str | int]
) -> dict[str, list[str | int]]:
    """``{field: [old, new]}`` for each field of ``after`` that differs from ``before``, in
    ``EDITABLE`` order (what the audit log records: never a password or secret)."""
    return {
        name: [before[name], after[name]]
        for name in EDITABLE
        if name in after and before.get(name) != after[name]
    }


def leaves_no_admin(
    *, target_is_admin: bool, target_enabled: bool, enabled_admins: int, still_admin: bool
) -> bool:
    """Whether a change (a disable, or a role change when ``still_admin`` is False) takes the
    last enabled admin account away: refused, or nobody could administer the house."""
    return target_is_admin and target_enabled and not still_admin and enabled_admins <= 1
