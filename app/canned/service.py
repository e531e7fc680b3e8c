"""Changing canned replies: checked by ``engine.check``, every change audited in the caller's
transaction (``canned.created`` / ``canned.updated`` / ``canned.deleted``, with the reply's id,
language and title, never its body). Services never commit (STYLE.md §4).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import repository as audit_log
from app.canned import engine
from app.canned import repository as repo
from app.canned.engine import BadReply, Draft
from app.kit.errors import Conflict, DomainError, NotFound
from app.models import CannedReply


class InvalidReply(DomainError):
    status = 422
    code = "invalid_request"


class DuplicateTitle(Conflict):
    code = "duplicate_title"


def _checked(draft: Draft, languages: Iterable[str]) -> Draft:
    try:
        return engine.check(draft, languages)
    except BadReply as exc:
        raise InvalidReply(str(exc), extra={"field": exc.field}) from None


def _duplicate(draft: Draft) -> DuplicateTitle:
    return DuplicateTitle(
        f"{draft.language} already has a reply titled {draft.title!r}",
        extra={"field": "title"},
    )


def as_dict(reply: CannedReply, editor: str | None = None) -> dict[str, Any]:
    return {
        "id": reply.id,
        "language": reply.language,
        "title": reply.title,
        "body": reply.body,
        "created_at": round(reply.created_at),
        "updated_at": round(reply.updated_at),
        "updated_by": editor,
    }


async def listed(session: AsyncSession, language: str | None = None) -> list[dict[str, Any]]:
    return [as_dict(row, alias) for row, alias in await repo.replies(session, language)]


async def _audit(
    session: AsyncSession, action: str, reply: CannedReply, by: str | None, now: float
) -> None:
    detail = {"id": reply.id, "language": reply.language, "title": reply.title}
    await audit_log.audit(
        session, staff_id=by, action=action, detail=json.dumps(detail, ensure_ascii=False), now=now
    )


async def create(
    session: AsyncSession, draft: Draft, languages: Sequence[str], *, by: str | None, now: float
) -> CannedReply:
    """A new reply. ``InvalidReply`` (422) for a bad one, ``DuplicateTitle`` (409) when its
    language has that title already (in any case)."""
    good = _checked(draft, languages)
    if await repo.reply_by_key(session, good.language, good.key) is not None:
        raise _duplicate(good)
    reply = CannedReply(
        language=good.language,
        title=good.title,
        title_key=good.key,
        body=good.body,
        created_at=now,
        created_by=by,
        updated_at=now,
        updated_by=by,
    )
    try:
        await repo.save(session, reply)
    except repo.DuplicateKey:
        raise _duplicate(good) from None
    await _audit(session, "canned.created", reply, by, now)
    return reply


async def update(
    session: AsyncSession,
    reply_id: int,
    draft: Draft,
    languages: Sequence[str],
    *,
    by: str | None,
    now: float,
) -> CannedReply:
    """Reply ``reply_id`` replaced by ``draft`` (its language may change). ``NotFound`` (404),
    ``InvalidReply`` (422), ``DuplicateTitle`` (409) as ``create``."""
    reply = await repo.reply_by_id(session, reply_id)
    if reply is None:
        raise NotFound("no such canned reply (it may just have been deleted)")
    good = _checked(draft, languages)
    other = await repo.reply_by_key(session, good.language, good.key)
    if other is not None and other.id != reply.id:
        raise _duplicate(good)
    reply.language, reply.title, reply.title_key = good.language, good.title, good.key
    reply.body, reply.updated_at, reply.updated_by = good.body, now, by
    try:
        await repo.save(session, reply)
    except repo.DuplicateKey:
        raise _duplicate(good) from None
    await _audit(session, "canned.updated", reply, by, now)
    return reply


async def delete(
    session: AsyncSession, reply_id: int, *, by: str | None, now: float
) -> CannedReply:
    """Delete reply ``reply_id``; ``NotFound`` (404) when there is none."""
    reply = await repo.reply_by_id(session, reply_id)
    if reply is None:
        raise NotFound("no such canned reply (it may just have been deleted)")
    await _audit(session, "canned.deleted", reply, by, now)
    await repo.remove(session, reply)
    return reply


@dataclass(frozen=True, slots=True)
class Imported:
    created: int
    updated: int
    unchanged: int


async def import_replies(
    session: AsyncSession,
    drafts: Sequence[Draft],
    languages: Sequence[str],
    *,
    by: str | None,
    now: float,
) -> Imported:
    """Every draft checked first (``engine.check_all``: nothing is written if one is bad), then
    each created, or its body replaced where its language has that title (audited alike).
    Replies the file does not name are kept."""
    try:
        checked = engine.check_all(drafts, languages)
    except BadReply as exc:
        raise InvalidReply(str(exc), extra={"field": exc.field}) from None
    created = updated = unchanged = 0
    for draft in checked:
        found = await repo.reply_by_key(session, draft.language, draft.key)
        if found is None:
            await create(session, draft, languages, by=by, now=now)
            created += 1
        elif (found.title, found.body) == (draft.title, draft.body):
            unchanged += 1
        else:
            await update(session, found.id, draft, languages, by=by, now=now)
            updated += 1
    return Imported(created, updated, unchanged)


async def exported(session: AsyncSession) -> dict[str, Any]:
    """Every reply as an import file (``engine.export_file``)."""
    rows = await repo.replies(session)
    return engine.export_file(Draft(r.language, r.title, r.body) for r, _ in rows)
