"""Request and response bodies of the staff authentication API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    totp: str = Field(min_length=1, max_length=12)


class SessionInfo(BaseModel):
    staff_id: str
    alias: str
    role: str
    csrf_token: str
