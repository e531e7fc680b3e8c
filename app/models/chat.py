"""Conversations and the ciphertext envelopes relayed in them (CRYPTO.md §4)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base
from app.types import ConversationId, ConversationStatus, SenderRole


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[ConversationId] = mapped_column(String(22), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    #: open | requeued (cold-transferred or left unanswered: its ticket waits again) | closed |
    #: abandoned (the young person's connection stayed away past the grace)
    status: Mapped[ConversationStatus] = mapped_column(String(12), default="open")
    opened_at: Mapped[float] = mapped_column(Float)
    #: Indexed: the wait estimate reads the most recently closed chats' durations.
    closed_at: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    closed_by: Mapped[SenderRole | None] = mapped_column(String(1), nullable=True)
    #: A pending warm transfer: offered to this counsellor until ``offer_expires_at``; counted in
    #: their load so that capacity holds while the offer is open.
    offer_to: Mapped[str | None] = mapped_column(String(22), nullable=True, index=True)
    offer_expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Warm transfer to a queue: the ticket moves to this skill queue on acceptance.
    offer_skill: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: When an ``abandoned`` conversation was added to the aggregates (``queue_stats.dropped``).
    counted_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: The week whose bucket key seals this conversation's wraps (CRYPTO.md §6); set when the
    #: first wrap is stored, moved by the purge when the expiry moves.
    bucket: Mapped[str | None] = mapped_column(String(8), nullable=True, index=True)
    #: When the purge deletes it; set by the purge once it has ended (``app.chat.retention``).
    expires_at: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    #: A return visit asked to keep it at least until then.
    kept_until: Mapped[float | None] = mapped_column(Float, nullable=True)


class Envelope(Base):
    """One envelope, stored as received: the server never parses ``ct``."""

    __tablename__ = "envelopes"
    __table_args__ = (UniqueConstraint("conv_id", "seg", "role", "inst", "seq"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    conv_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=False
    )
    seg: Mapped[int] = mapped_column(BigInteger)
    role: Mapped[SenderRole] = mapped_column(String(1))
    inst: Mapped[str] = mapped_column(String(22))
    seq: Mapped[int] = mapped_column(BigInteger)
    ct: Mapped[str] = mapped_column(Text)
    #: The young person's page's signature of a role-Y envelope (PROTOCOL.md §6.7), as sent;
    #: checked by the export and the console, never by the server.
    sig: Mapped[str | None] = mapped_column(String(86), nullable=True)
