"""Pure key rules: fingerprints, period bounds, passphrase policy."""

from __future__ import annotations

import hashlib
import re
from datetime import date

import pytest

from app.keys import engine


def test_fingerprint_is_grouped_sha256_of_the_point() -> None:
    point = b"\x04" + bytes(range(64))
    printed = engine.fingerprint(point)
    assert re.fullmatch(r"[0-9a-f]{4}( [0-9a-f]{4}){15}", printed)
    assert printed.replace(" ", "") == hashlib.sha256(point).hexdigest()


@pytest.mark.parametrize(
    ("today", "first", "following"),
    [
        (date(2026, 11, 26), date(2026, 11, 1), date(2026, 12, 1)),
        (date(2026, 12, 31), date(2026, 12, 1), date(2027, 1, 1)),
        (date(2028, 2, 29), date(2028, 2, 1), date(2028, 3, 1)),
    ],
)
def test_the_default_period_is_the_calendar_month(
    today: date, first: date, following: date
) -> None:
    assert engine.calendar_month(today) == (first, following)


def test_period_bounds_are_midnight_utc_and_not_after_is_later() -> None:
    start, end = engine.period_bounds(date(2026, 11, 1), date(2026, 12, 1))
    assert (start, end) == (1793491200, 1796083200)
    assert (engine.day_of(start), engine.day_of(end)) == ("2026-11-01", "2026-12-01")
    for reversed_or_empty in ((date(2026, 12, 1), date(2026, 11, 1)), (date(2026, 11, 1),) * 2):
        with pytest.raises(ValueError, match="later"):
            engine.period_bounds(*reversed_or_empty)


def test_short_passphrases_are_refused() -> None:
    with pytest.raises(engine.WeakPassphrase):
        engine.check_passphrase("x" * 11)
    engine.check_passphrase("x" * 12)


def test_only_an_uncompressed_point_on_p256_is_a_public_key() -> None:
    from app.crypto import hpke

    point = hpke.public_key_bytes(hpke.generate_private_key())
    engine.check_public_point(point)
    with pytest.raises(ValueError, match="not a point on P-256"):
        engine.check_public_point(b"\x04" + bytes(64))
    for wrong_shape in (point[:33], point + b"\x00", b"\x05" + point[1:], b""):
        with pytest.raises(ValueError, match="65-byte uncompressed"):
            engine.check_public_point(wrong_shape)
