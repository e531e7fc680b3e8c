"""Staff accounts, their server-side sessions, login failures, shifts and the audit log."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base
from app.types import StaffId, StaffRole


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[StaffId] = mapped_column(String(22), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    #: The only name a young person ever sees.
    alias: Mapped[str] = mapped_column(String(64))
    role: Mapped[StaffRole] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Sealed under the server secret (``app.security.totpseal``), never the base32 secret.
    totp_secret: Mapped[str] = mapped_column(String(128))
    #: Last accepted TOTP time step: a code is accepted once (pyotp.verify alone allows reuse).
    totp_last_step: Mapped[int] = mapped_column(BigInteger, default=0)
    languages: Mapped[str] = mapped_column(String(255), default="sv")  # comma-separated
    skills: Mapped[str] = mapped_column(String(255), default="youth")  # comma-separated
    capacity: Mapped[int] = mapped_column(Integer, default=2)
    #: The counsellor's organisation, a routing attribute: municipality | health care | police.
    organisation: Mapped[str] = mapped_column(
        String(32), default="municipality", server_default="municipality"
    )
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    on_duty: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The device whose console put the counsellor on duty: new chats are sealed to it.
    duty_device_id: Mapped[str | None] = mapped_column(String(22), nullable=True)
    #: Last sign of life from any of the counsellor's consoles, in any process (DESIGN.md §5):
    #: on duty with a heartbeat older than the timeout means their connection died.
    heartbeat_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: When the counsellor last became free or went on duty (least-loaded, then longest idle).
    idle_since: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[float] = mapped_column(Float)


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    #: HMAC-SHA-256 (server secret) of the cookie value; the cookie itself is never stored.
    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(43))
    created_at: Mapped[float] = mapped_column(Float)
    last_seen_at: Mapped[float] = mapped_column(Float)


class LoginFailure(Base):
    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: HMAC-SHA-256 (server secret) of the normalised typed username, known or not (R-10):
    #: never the text typed, which may be a password typed into the wrong field.
    name_digest: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[float] = mapped_column(Float)


class Shift(Base):
    __tablename__ = "shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float)
    staff_id: Mapped[str | None] = mapped_column(String(22), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
