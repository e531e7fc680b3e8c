"""Pure rules for keys: fingerprints, points, period bounds, passphrase policy. No I/O.

Times are unix seconds; calendar dates are read as midnight UTC, so that a period means the same
instants wherever the custodian's machine is.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import UTC, date, datetime, time
from typing import Final

from cryptography.hazmat.primitives.asymmetric import ec

MIN_PASSPHRASE_CHARS: Final = 12
_GROUP: Final = 4
POINT_BYTES: Final = 65

#: Generated passphrases: Crockford's base32 in lowercase (no i, l, o or u to misread when it
#: is copied by hand), in dash-separated groups: 6 x 5 characters of 5 bits, 150 bits.
GENERATED_ALPHABET: Final = "0123456789abcdefghjkmnpqrstvwxyz"
GENERATED_GROUPS: Final = 6
GENERATED_GROUP_CHARS: Final = 5
GENERATED_PASSPHRASE_BITS: Final = int(
    GENERATED_GROUPS * GENERATED_GROUP_CHARS * math.log2(len(GENERATED_ALPHABET))
)


class WeakPassphrase(ValueError):
    """A passphrase too short to protect an offline period key."""


def fingerprint(public_key: bytes) -> str:
    """SHA-256 of the 65-byte point as lowercase hex in space-separated groups of four.

    This is what an operator compares by eye or by voice, so it is grouped; the published form
    (docs/THREAT-MODEL.md) must be the same text.
    """
    digest = hashlib.sha256(public_key).hexdigest()
    return " ".join(digest[i : i + _GROUP] for i in range(0, len(digest), _GROUP))


def check_public_point(point: bytes) -> None:
    """Raise ``ValueError`` unless ``point`` is a 65-byte uncompressed point on P-256."""
    if len(point) != POINT_BYTES or point[0] != 0x04:
        raise ValueError("not a 65-byte uncompressed P-256 point")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise ValueError("not a point on P-256") from None


def midnight_utc(day: date) -> int:
    """The unix second at which ``day`` begins in UTC."""
    return int(datetime.combine(day, time(0, 0), tzinfo=UTC).timestamp())


def day_of(seconds: int) -> str:
    """``YYYY-MM-DD`` of a unix second in UTC (how periods are shown)."""
    return datetime.fromtimestamp(seconds, tz=UTC).date().isoformat()


def calendar_month(today: date) -> tuple[date, date]:
    """The default period: the first day of ``today``'s month and the first day of the next."""
    first = today.replace(day=1)
    following = (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else (first.replace(month=first.month + 1))
    )
    return first, following


def period_bounds(not_before: date, not_after: date) -> tuple[int, int]:
    """``(not_before, not_after)`` in unix seconds, midnight UTC; ``not_after`` is exclusive.

    Raises ``ValueError`` when the period is empty or reversed.
    """
    start, end = midnight_utc(not_before), midnight_utc(not_after)
    if end <= start:
        raise ValueError("--not-after must be later than --not-before")
    return start, end


def check_passphrase(passphrase: str) -> None:
    """Raise ``WeakPassphrase`` unless the passphrase has at least 12 characters."""
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise WeakPassphrase(f"the passphrase must have at least {MIN_PASSPHRASE_CHARS} characters")


def generate_passphrase() -> str:
    """A fresh passphrase of ``GENERATED_PASSPHRASE_BITS`` bits from ``secrets``, e.g.
    ``7kq2m-x0vdn-...``: six groups of five characters of ``GENERATED_ALPHABET``."""
    return "-".join(
        "".join(secrets.choice(GENERATED_ALPHABET) for _ in range(GENERATED_GROUP_CHARS))
        for _ in range(GENERATED_GROUPS)
    )
