"""Organisation period keys: certified public halves (CRYPTO.md §2); private halves offline."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class PeriodKey(Base):
    __tablename__ = "period_keys"

    #: 16 random bytes, base64url (``period_id`` in CRYPTO.md §8).
    id: Mapped[str] = mapped_column(String(22), primary_key=True)
    #: HPKE P-256 public key: the 65-byte uncompressed point, base64url.
    public_key: Mapped[str] = mapped_column(String(87))
    #: Validity, unix seconds: ``not_before <= now < not_after``.
    not_before: Mapped[int] = mapped_column(BigInteger)
    not_after: Mapped[int] = mapped_column(BigInteger)
    #: The service key's 64-byte ``r ‖ s`` signature of the period certificate message, base64url.
    certificate: Mapped[str] = mapped_column(String(86))
    created_at: Mapped[float] = mapped_column(Float)
    #: When the custodian destroyed the private half (``vhouse keys destroy-period``).
    destroyed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
