"""Every SQL statement on canned replies."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.models import CannedReply, Staff


class DuplicateKey(Exception):
    """Another reply in the language has that title (a concurrent change got there first)."""


async def replies(
    session: AsyncSession, language: str | None = None
) -> list[tuple[CannedReply, str | None]]:
    """Replies (of ``language``, or all) by language and title, each with the alias of whoever
    changed it last (``None``: the CLI, or an account gone)."""
    editor = aliased(Staff)
    query = (
        select(CannedReply, editor.alias)
        .outerjoin(editor, editor.id == CannedReply.updated_by)
        .order_by(CannedReply.language, CannedReply.title_key)
    )
    if language is not None:
        query = query.where(CannedReply.language == language)
    return [(row, alias) for row, alias in (await session.execute(query)).all()]


async def reply_by_id(session: AsyncSession, reply_id: int) -> CannedReply | None:
    return await session.get(CannedReply, reply_id)


async def reply_by_key(session: AsyncSession, language: str, key: str) -> CannedReply | None:
    query = select(CannedReply).where(
        CannedReply.language == language, CannedReply.title_key == key
    )
    return (await session.execute(query)).scalar_one_or_none()


async def save(session: AsyncSession, reply: CannedReply) -> None:
    """Insert or update ``reply`` now (so that its id is known). ``DuplicateKey`` when the
    unique (language, title) refuses it; the caller's transaction is then to be rolled back."""
    session.add(reply)
    try:
        await session.flush()
    except IntegrityError:
        raise DuplicateKey from None


async def remove(session: AsyncSession, reply: CannedReply) -> None:
    await session.delete(reply)
    await session.flush()
