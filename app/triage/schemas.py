"""Request bodies of the young person's HTTP API, and the pieces its ticket routes share."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.kit.errors import NotFound
from app.types import TicketToken

#: The queue ticket a youth page holds, as a request field.
TicketField = Annotated[
    TicketToken, Field(min_length=22, max_length=22, pattern=r"^[A-Za-z0-9_-]{22}$")
]


class TicketUnknown(NotFound):
    """404 ``ticket_unknown``: no such ticket (or it was deleted)."""

    code = "ticket_unknown"


class LeaveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket: TicketField
