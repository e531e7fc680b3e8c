"""Request bodies of the admin staff API (``admin_endpoints.py``). The values are checked by
``rules.py`` against the centre; these only bound their sizes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AddStaffRequest(BaseModel):
    """A new account; without ``password`` one is generated and answered once."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    alias: str = Field(min_length=1, max_length=64)
    password: str | None = Field(default=None, min_length=1, max_length=1024)
    role: str = Field(default="counsellor", max_length=16)
    organisation: str = Field(default="municipality", max_length=32)
    languages: list[str] = Field(min_length=1, max_length=32)
    skills: list[str] = Field(default_factory=lambda: ["youth"], max_length=32)
    capacity: int = Field(default=2)


class EditStaffRequest(BaseModel):
    """What to change; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    alias: str | None = Field(default=None, min_length=1, max_length=64)
    role: str | None = Field(default=None, max_length=16)
    organisation: str | None = Field(default=None, max_length=32)
    languages: list[str] | None = Field(default=None, min_length=1, max_length=32)
    skills: list[str] | None = Field(default=None, max_length=32)
    capacity: int | None = None


class ResetPasswordRequest(BaseModel):
    """The new password; without it one is generated and answered once."""

    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(default=None, min_length=1, max_length=1024)
