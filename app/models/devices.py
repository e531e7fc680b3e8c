"""Counsellor devices, conversation key segments and return-code wraps (CRYPTO.md §2, §3, §5).

Everything here is public keys, certificates, signatures or sealed keys: none of it lets the
server read a message.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Device(Base):
    """A counsellor device: its HPKE and signing public keys, certified by the service key."""

    __tablename__ = "devices"

    #: 16 random bytes, base64url (``device_id`` in CRYPTO.md §8).
    id: Mapped[str] = mapped_column(String(22), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    #: 65-byte uncompressed P-256 points, base64url.
    hpke_public_key: Mapped[str] = mapped_column(String(87))
    sig_public_key: Mapped[str] = mapped_column(String(87))
    #: Unix seconds; the certificate covers it.
    not_after: Mapped[int] = mapped_column(BigInteger)
    #: The service key's 64-byte ``r ‖ s`` signature of the device certificate message.
    certificate: Mapped[str] = mapped_column(String(86))
    created_at: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Segment(Base):
    """One key segment of a conversation: whom its key ``K`` is sealed to, and the acceptance."""

    __tablename__ = "segments"

    conv_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    seg: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    period_id: Mapped[str | None] = mapped_column(ForeignKey("period_keys.id"), nullable=True)
    #: ``K`` sealed to the device (HPKE ``enc ‖ ct``, base64url); set once by the young person.
    wrap_c: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: ``K`` sealed to the period key; ``None`` when no period key was valid at pairing.
    wrap_o: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The device's acceptance signature (64 bytes ``r ‖ s``, base64url); set once.
    accept_sig: Mapped[str | None] = mapped_column(String(86), nullable=True)
    #: The time (unix seconds) the device signed into a timed acceptance; ``None`` for an
    #: acceptance of the untimed form (stored before 0019).
    accept_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)


class ReturnWrap(Base):
    """``K`` of one segment wrapped under a return-code KEK; found only by the code's locator."""

    __tablename__ = "return_wraps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: ``HKDF(code, info="vh/v1/locator", L=16)``, base64url: all the server learns of the code.
    locator: Mapped[str] = mapped_column(String(22), index=True)
    conv_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    seg: Mapped[int] = mapped_column(BigInteger)
    salt: Mapped[str] = mapped_column(String(22))
    nonce: Mapped[str] = mapped_column(String(16))
    #: Bucket-sealed (``app.crypto.bucket``), like every stored wrap.
    wrap: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


class HistoryGrant(Base):
    """A returning young person let the counsellor of ``conv_id`` read an earlier conversation's
    segment: its key ``K`` sealed by the young person's client to the counsellor's device."""

    __tablename__ = "history_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conv_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    from_conv_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seg: Mapped[int] = mapped_column(BigInteger)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    #: HPKE ``enc ‖ ct`` of the old segment's ``K``, info ``"vh/v1/wrap|C|" ‖ from_conv ‖ seg ‖
    #: device_id`` (CRYPTO.md §3, applied to the earlier conversation).
    wrap: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


class TranscriptSig(Base):
    """The latest transcript signature of a segment by a counsellor device (issue 13 (5)): the
    device's ECDSA signature over the digest of the envelopes it held (app/crypto/transcript.py).
    Shapes only are checked here; the export and the young person's page verify it."""

    __tablename__ = "transcript_sigs"

    conv_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    seg: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    #: How many envelopes it covers, the 32-byte digest ``T`` and the 64-byte signature.
    n: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[str] = mapped_column(String(43))
    sig: Mapped[str] = mapped_column(String(86))
    #: The covered envelopes as sent: JSON ``[{"role","inst","seqs":[[first,last],…]}]``.
    covers: Mapped[str] = mapped_column(Text)
    #: When the server stored it (the server's clock: no more than a hint).
    signed_at: Mapped[float] = mapped_column(Float)


class DeviceEnrolment(Base):
    """A pending enrolment code for one new device of a staff member (issue 13 (1)): printed by
    ``vhouse staff enrol``, single-use, short-lived. Only a digest keyed with the server secret
    is kept (``app.keys.enrolment``): a database reader cannot recover a code, and a row
    written without the key directory matches none."""

    __tablename__ = "device_enrolments"

    code_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
