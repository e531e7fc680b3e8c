"""base64url without padding, the encoding of every binary field on the wire (CRYPTO.md §1)."""

from __future__ import annotations

import base64
import re

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(text: str) -> bytes:
    """Decode unpadded base64url; raise ``ValueError`` on anything else."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_b64url(text: str, *, nbytes: int | None = None) -> bool:
    """True when ``text`` is unpadded base64url (of exactly ``nbytes`` bytes, if given)."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        return False
    if nbytes is None:
        return True
    return len(text) == (nbytes * 4 + 2) // 3 and _canonical_tail(text)


def _canonical_tail(text: str) -> bool:
    # The unused low bits of the last character must be zero, so one value has one spelling.
    try:
        return encode(decode(text)) == text
    except ValueError:
        return False
