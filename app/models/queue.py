"""Tickets (places in a queue), and anonymous aggregates outliving them; nothing identifying."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base
from app.types import QueueKind, TicketId, TicketStatus


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_kind", "status", "kind"),
        # The heads of each queue in queue order, for matching (triage repository.queue_heads).
        Index("ix_tickets_queue_order", "status", "kind", "skill", "urgent", "joined_at", "id"),
    )

    id: Mapped[TicketId] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: SHA-256 of the bearer token the browser holds in memory.
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[QueueKind] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[TicketStatus] = mapped_column(String(12), default="waiting")
    joined_at: Mapped[float] = mapped_column(Float)
    assigned_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Set while no socket holds the ticket; a waiting ticket gone longer than the grace is "left".
    disconnected_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Optional triage answers, as question-set option ids (routing metadata, never free text).
    topic: Mapped[str | None] = mapped_column(String(32), nullable=True)
    age_band: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: The skill queue the ticket waits in (``None``: the general queue of its kind).
    skill: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: An organisation the ticket must be served by (municipality, health care, police), if any.
    organisation: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: When the ticket was added to the anonymous aggregates (``queue_stats``); counted once.
    counted_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: True once the young person answered the after-chat feedback (``feedback_counts``); only
    #: that it was answered, never the answer or when. Goes with the ticket when it is purged.
    feedback_given: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: The young person's page's public signing key (65-byte point, base64url; PROTOCOL.md
    #: §6.7), set by the ``join`` frame before any counsellor is paired and never changed.
    youth_sig_key: Mapped[str | None] = mapped_column(String(87), nullable=True)


class QueueStat(Base):
    """One cell of the anonymous aggregates (issue 4 item 7): counts per local day, queue, topic
    and language. Outlives tickets and conversations; exported only through ``stats.export``."""

    __tablename__ = "queue_stats"
    __table_args__ = (UniqueConstraint("day", "queue", "topic", "language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[str] = mapped_column(String(10))  # local date of joining, YYYY-MM-DD
    queue: Mapped[str] = mapped_column(String(64))  # e.g. "youth", "youth/police"
    topic: Mapped[str] = mapped_column(String(32))  # "" when not given
    language: Mapped[str] = mapped_column(String(8))
    joins: Mapped[int] = mapped_column(Integer)
    served: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    #: Chats that ended because the young person's connection never came back (``abandoned``
    #: conversations), counted under the day and queue their ticket joined.
    dropped: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: Served waits in whole seconds, a JSON list (for percentiles; never exported as such).
    waits: Mapped[str] = mapped_column(Text)


class AlertAck(Base):
    """A supervisor acknowledged an alert (``kind|queue``); kept while the alert still fires."""

    __tablename__ = "alert_acks"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    acked_at: Mapped[float] = mapped_column(Float)


class CloseStat(Base):
    """Close categories as anonymous counts (issue 11): per local day of closing, queue,
    dimension (topic | outcome | referral) and value. Never linked to a conversation."""

    __tablename__ = "close_stats"
    __table_args__ = (UniqueConstraint("day", "queue", "dimension", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[str] = mapped_column(String(10))
    queue: Mapped[str] = mapped_column(String(64))
    dimension: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer)


class FeedbackCount(Base):
    """After-chat feedback ("Did this chat help you?") as anonymous counts (issue 12 §3): per
    local day of answering, queue kind and answer. Never linked to a ticket or conversation;
    exported only suppressed (``supervision.feedback``)."""

    __tablename__ = "feedback_counts"
    __table_args__ = (UniqueConstraint("day", "kind", "answer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[str] = mapped_column(String(10))  # local date of answering, YYYY-MM-DD
    kind: Mapped[str] = mapped_column(String(16))  # youth | professional
    answer: Mapped[str] = mapped_column(String(8))  # yes | partly | no
    count: Mapped[int] = mapped_column(Integer)
