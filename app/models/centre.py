"""The centre's settings edited in the browser (issue 11): one row per settings document."""

from __future__ import annotations

from sqlalchemy import Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class CentreSetting(Base):
    """A stored settings document (``hours``, ``alerts``, ``routing``; app/centre/engine.py).

    ``document`` is the JSON text, or ``None`` once an admin returned to the file or setting;
    the row stays so that ``version`` only grows and other processes notice every change.
    """

    __tablename__ = "centre_settings"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    document: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[float] = mapped_column(Float)
    #: The admin who made the change; ``None`` for ``vhouse settings import``.
    updated_by: Mapped[str | None] = mapped_column(String(22), nullable=True)
