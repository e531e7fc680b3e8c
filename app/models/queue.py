"""Tickets: a young person's or professional's place in a queue. Nothing identifying."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_kind", "status", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: SHA-256 of the bearer token the browser holds in memory.
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # youth | professional
    language: Mapped[str] = mapped_column(String(8))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    #: waiting -> assigned -> ended, or waiting -> left
    status: Mapped[str] = mapped_column(String(12), default="waiting")
    joined_at: Mapped[float] = mapped_column(Float)
    assigned_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Set while no socket holds the ticket; a waiting ticket gone longer than the grace is "left".
    disconnected_at: Mapped[float | None] = mapped_column(Float, nullable=True)
