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
    #: Answered by a login only (``app.security.freshlogin``): the proof of a fresh password +
    #: TOTP login that registering a device asks for, good for ``VH_DEVICE_FRESH_LOGIN_SECONDS``.
    fresh_login: str | None = None


class LogoutRequest(BaseModel):
    """``force``: the counsellor was told of their open chats (409 ``open_chats``) and chose to
    log out anyway: each goes back to the front of its queue."""

    model_config = ConfigDict(extra="forbid")

    force: bool = False


class ReauthRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=1024)
    totp: str = Field(min_length=1, max_length=12)


class Renewed(BaseModel):
    """The session's new absolute expiry (unix seconds), and a new fresh-login proof."""

    expires_at: int
    fresh_login: str
