"""Request bodies of the young person's HTTP API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.types import TicketToken


class LeaveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket: TicketToken = Field(min_length=22, max_length=22, pattern=r"^[A-Za-z0-9_-]{22}$")
