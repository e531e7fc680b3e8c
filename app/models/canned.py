"""Canned replies: texts an admin wrote for counsellors to insert into a chat and edit."""

from __future__ import annotations

from sqlalchemy import Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class CannedReply(Base):
    """One reply in one of the centre's languages. Staff-written text, never a chat's content."""

    __tablename__ = "canned_replies"
    __table_args__ = (
        UniqueConstraint("language", "title_key"),
        # Ids are never reused: a page still showing a deleted reply cannot edit another.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    language: Mapped[str] = mapped_column(String(8))
    #: The shortcut counsellors type after ``/``, as the admin wrote it.
    title: Mapped[str] = mapped_column(String(40))
    #: ``title`` case-folded: two titles differing only in case are one shortcut.
    title_key: Mapped[str] = mapped_column(String(160))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    #: The admin's staff id, ``None`` when made with ``vhouse canned`` (no staff account).
    created_by: Mapped[str | None] = mapped_column(String(22), nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str | None] = mapped_column(String(22), nullable=True)
