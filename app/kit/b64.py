"""base64url without padding, the encoding of every binary field on the wire (CRYPTO.md §1).

Only the canonical spelling is accepted: decoding and encoding again gives the same text. A
last character with unused low bits set decodes (``atob``, ``base64``) to the same bytes as
the canonical one, so a lax parser would let one id, one ``inst``, be spelled up to 16 ways.
"""

from __future__ import annotations

import base64
import re

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# With 2 (or 1) bytes left over, the last character carries 2 (or 4) unused low bits, which
# must be zero so that one value has one spelling. Checked without decoding (a hot path).
_TAIL_OK = {
    2: frozenset(c for i, c in enumerate(_ALPHABET) if i % 16 == 0),
    3: frozenset(c for i, c in enumerate(_ALPHABET) if i % 4 == 0),
}


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(text: str) -> bytes:
    """Decode canonical unpadded base64url; raise ``ValueError`` on anything else."""
    if not is_b64url(text):
        raise ValueError("not canonical unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_b64url(text: str, *, nbytes: int | None = None) -> bool:
    """True when ``text`` is canonical unpadded base64url (of exactly ``nbytes`` bytes, if
    given): the alphabet, a possible length, and zero unused bits in the last character."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        return False
    if nbytes is not None and len(text) != (nbytes * 4 + 2) // 3:
        return False
    return _canonical_tail(text)


def _canonical_tail(text: str) -> bool:
    allowed = _TAIL_OK.get(len(text) % 4)
    return allowed is None or text[-1] in allowed
