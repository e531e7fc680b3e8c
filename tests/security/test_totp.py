"""TOTP with reuse protection (SECURITY R-9): pure, the time is an argument."""

from __future__ import annotations

import pyotp
import pytest

from app.security.totp import DRIFT_STEPS, STEP_SECONDS, accepted_step, current_code, new_secret

SECRET = new_secret()
NOW = 1_750_000_015.0  # an arbitrary instant in the middle of a step
STEP = int(NOW) // STEP_SECONDS
FULL_WIDTH = str.maketrans({str(d): chr(0xFF10 + d) for d in range(10)})
ARABIC_INDIC = str.maketrans({str(d): chr(0x0660 + d) for d in range(10)})


def code_at(step: int) -> str:
    return current_code(SECRET, step * STEP_SECONDS)


def test_current_code_is_accepted_once() -> None:
    """R-9: Current code is accepted once."""
    code = code_at(STEP)
    assert code == pyotp.TOTP(SECRET).at(int(NOW))
    assert accepted_step(SECRET, code, last_step=0, now=NOW) == STEP
    # Stored as the new last step, the same code is refused, however soon it comes back.
    assert accepted_step(SECRET, code, last_step=STEP, now=NOW) is None
    assert accepted_step(SECRET, code, last_step=STEP, now=NOW + 1) is None


def test_an_older_step_is_refused_after_a_newer_one() -> None:
    assert accepted_step(SECRET, code_at(STEP + 1), last_step=0, now=NOW) == STEP + 1
    assert accepted_step(SECRET, code_at(STEP), last_step=STEP + 1, now=NOW) is None


@pytest.mark.parametrize("offset", range(-DRIFT_STEPS, DRIFT_STEPS + 1))
def test_one_step_of_drift_either_way(offset: int) -> None:
    assert accepted_step(SECRET, code_at(STEP + offset), last_step=0, now=NOW) == STEP + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3, 100])
def test_beyond_the_drift_window_is_refused(offset: int) -> None:
    code = code_at(STEP + offset)
    if any(code == code_at(STEP + d) for d in range(-DRIFT_STEPS, DRIFT_STEPS + 1)):
        pytest.skip("this far-off code happens to equal one inside the window")
    assert accepted_step(SECRET, code, last_step=0, now=NOW) is None


def test_another_secrets_code_is_refused() -> None:
    other = new_secret()
    code = current_code(other, NOW)
    if code in {code_at(STEP + d) for d in range(-DRIFT_STEPS, DRIFT_STEPS + 1)}:
        pytest.skip("one in a million: the two secrets agree now")
    assert accepted_step(SECRET, code, last_step=0, now=NOW) is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:5],  # too short
        lambda c: c + "0",  # too long
        lambda c: " " + c[1:],
        lambda c: c[:5] + "a",
        lambda c: c.translate(FULL_WIDTH),  # full-width digits: isdigit() but not ASCII
        lambda c: c.translate(ARABIC_INDIC),
        lambda c: "-" + c[1:],
        lambda c: "",
        lambda c: c[:3] + " " + c[3:],
    ],
)
def test_codes_that_are_not_six_ascii_digits_are_refused(mangle: object) -> None:
    assert callable(mangle)
    code = mangle(code_at(STEP))
    assert accepted_step(SECRET, code, last_step=0, now=NOW) is None
