"""Bodies of the key endpoints (PROTOCOL.md §6.1, §6.2).

A device's answer is ``app.crypto.certs.DeviceCert`` itself (FastAPI validates and documents a
dataclass response like a model): the certificate's fields are written down only there.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: A 65-byte uncompressed P-256 point in unpadded base64url is 87 characters.
POINT = Field(min_length=87, max_length=87, pattern=r"^[A-Za-z0-9_-]{87}$")


class DeviceRequest(BaseModel):
    """``fresh_login``: the proof a login or re-authentication answered (``fresh_login``),
    at most ``VH_DEVICE_FRESH_LOGIN_SECONDS`` old. ``enrol_code``: the account's pending
    enrolment code (``vhouse staff enrol``), used up by a successful registration."""

    model_config = ConfigDict(extra="forbid")

    hpke_public_key: str = POINT
    sig_public_key: str = POINT
    fresh_login: str | None = Field(None, max_length=128)
    enrol_code: str | None = Field(None, max_length=32)


class RenewRequest(BaseModel):
    """``fresh_login``: as for a registration (no enrolment code: the device is known)."""

    model_config = ConfigDict(extra="forbid")

    fresh_login: str = Field(min_length=1, max_length=128)


class PeriodInfo(BaseModel):
    period_id: str
    public_key: str
    not_before: int
    not_after: int
    certificate: str


class KeysInfo(BaseModel):
    service_key: str
    fingerprint: str
    period: PeriodInfo | None
