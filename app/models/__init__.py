"""SQLAlchemy models, one module per table family; importing this package registers them all."""

from app.models.base import Base
from app.models.chat import Conversation, Envelope
from app.models.keys import PeriodKey
from app.models.queue import Ticket
from app.models.staff import AuditEntry, LoginFailure, Shift, Staff, StaffSession

__all__ = [
    "AuditEntry",
    "Base",
    "Conversation",
    "Envelope",
    "LoginFailure",
    "PeriodKey",
    "Shift",
    "Staff",
    "StaffSession",
    "Ticket",
]
