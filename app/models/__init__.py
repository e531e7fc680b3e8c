"""SQLAlchemy models, one module per table family; importing this package registers them all."""

from app.models.base import Base
from app.models.canned import CannedReply
from app.models.centre import CentreSetting
from app.models.chat import Conversation, Envelope
from app.models.devices import (
    Device,
    DeviceEnrolment,
    HistoryGrant,
    ReturnWrap,
    Segment,
    TranscriptSig,
)
from app.models.keys import PeriodKey
from app.models.queue import AlertAck, CloseStat, FeedbackCount, QueueStat, Ticket
from app.models.staff import AuditEntry, LoginFailure, Shift, Staff, StaffSession

__all__ = [
    "AlertAck",
    "AuditEntry",
    "Base",
    "CannedReply",
    "CentreSetting",
    "CloseStat",
    "Conversation",
    "Device",
    "DeviceEnrolment",
    "Envelope",
    "FeedbackCount",
    "HistoryGrant",
    "LoginFailure",
    "PeriodKey",
    "QueueStat",
    "ReturnWrap",
    "Segment",
    "Shift",
    "Staff",
    "StaffSession",
    "Ticket",
    "TranscriptSig",
]
