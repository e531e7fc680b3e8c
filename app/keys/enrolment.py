"""Enrolment codes: the second factor, outside the database, for a new counsellor device
(issue 13 (1); SECURITY R-8, R-10).

``vhouse staff enrol USERNAME`` (run by someone with the server's key directory) prints a code;
the counsellor types it into the console when it registers a device. The code is short-lived
(``VH_DEVICE_ENROL_SECONDS``), single-use, one pending per account (a new one replaces it), and
the database keeps only its HMAC-SHA-256 under the server secret, bound to the account. So
whoever can only write the database can neither read a pending code nor make one that works:
with a session or a login of their own making they still cannot certify a device.

Pure rules here (the code's alphabet and spelling, its digest); the two service calls take the
caller's session and never commit.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import repository as audit_log
from app.keys import repository as repo
from app.kit.errors import Forbidden
from app.models import DeviceEnrolment
from app.security.secret import keyed_digest

#: Crockford-like: no 0/O, 1/I/L or U, so a code read aloud or copied by hand survives.
ALPHABET: Final = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
LENGTH: Final = 10  # 30^10: about 49 bits
GROUP: Final = 5
_PURPOSE: Final = "device-enrol"


class EnrolCodeRequired(Forbidden):
    """A new device needs an enrolment code (``vhouse staff enrol``)."""

    code = "enrol_code_required"


class EnrolCodeWrong(Forbidden):
    """The enrolment code is not this account's pending one: mistyped, used, replaced or old."""

    code = "enrol_code_wrong"


@dataclass(frozen=True, slots=True)
class Issued:
    code: str  # shown once, grouped for reading: "ABCDE-FGHJK"
    expires_at: float


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def normalise(code: str) -> str | None:
    """The code as typed, without spaces and dashes, upper case; None if it cannot be one."""
    plain = "".join(code.split()).replace("-", "").upper()
    if len(plain) != LENGTH or any(c not in ALPHABET for c in plain):
        return None
    return plain


def code_digest(server_secret: bytes, staff_id: str, code: str) -> str:
    """What ``device_enrolments`` keeps of a (normalised) code for the account ``staff_id``."""
    return keyed_digest(server_secret, _PURPOSE, f"{staff_id}\x00{code}")


async def issue(
    session: AsyncSession,
    *,
    server_secret: bytes,
    staff_id: str,
    now: float,
    lifetime: float,
    actor: str | None = None,
) -> Issued:
    """A new pending code for ``staff_id`` (an earlier pending one no longer works). Audited
    as ``device.enrol_code`` (never the code)."""
    code = new_code()
    normalised = normalise(code)
    assert normalised is not None  # noqa: S101 - made from the alphabet
    expires_at = now + lifetime
    await repo.replace_enrolment(
        session,
        DeviceEnrolment(
            code_digest=code_digest(server_secret, staff_id, normalised),
            staff_id=staff_id,
            created_at=now,
            expires_at=expires_at,
        ),
    )
    detail = json.dumps({"expires_at": round(expires_at), "by": actor})
    await audit_log.audit(
        session, staff_id=staff_id, action="device.enrol_code", detail=detail, now=now
    )
    return Issued(code, expires_at)


async def redeem(
    session: AsyncSession, *, server_secret: bytes, staff_id: str, code: str | None, now: float
) -> None:
    """Use up ``staff_id``'s pending code ``code``, in the caller's transaction (it stays
    unused if the registration then fails). Raises ``EnrolCodeRequired`` or ``EnrolCodeWrong``."""
    if not code:
        raise EnrolCodeRequired(
            "this new device needs an enrolment code: ask for one (vhouse staff enrol)"
        )
    normalised = normalise(code)
    digest = code_digest(server_secret, staff_id, normalised) if normalised else None
    if digest is None or not await repo.take_enrolment(session, digest, staff_id, now):
        raise EnrolCodeWrong(
            "this enrolment code is wrong, used or expired: ask for a new one (vhouse staff enrol)"
        )
