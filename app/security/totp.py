"""TOTP (RFC 6238) with reuse protection (SECURITY R-9): a time step is accepted at most once."""

from __future__ import annotations

import hmac

import pyotp

ISSUER = "Virtual House"
STEP_SECONDS = 30
#: Steps of clock drift tolerated either way.
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return str(pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER))


def current_code(secret: str, now: float) -> str:
    return str(pyotp.TOTP(secret).at(int(now)))


def accepted_step(secret: str, code: str, *, last_step: int, now: float) -> int | None:
    """The time step ``code`` belongs to if it is valid now and newer than ``last_step``, else None.

    The caller must store the returned step as the new ``last_step`` in the same transaction.
    """
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    step_now = int(now) // STEP_SECONDS
    for step in range(step_now - DRIFT_STEPS, step_now + DRIFT_STEPS + 1):
        if step > last_step and hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None
