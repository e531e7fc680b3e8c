"""Expiry-bucket sealing of stored wraps (CRYPTO.md §6), pure: the server's own layer.

Every wrap the server stores (``wrap_c``, ``wrap_o``, the return-code wrap, a history grant's
wrap) is the client's value sealed once more, with AES-256-GCM under the key of the week its
conversation expires in. When that bucket key is destroyed, every copy of the row (a backup,
the WAL, a replica) holds only ciphertext under a key that exists nowhere.

Stored form: ``b1.<week>.<base64url(nonce ‖ ciphertext ‖ tag)>``. The associated data binds the
week, what the wrap is (``purpose``), its conversation and its place (``where``, e.g. a segment
number), so that a sealed value cannot be moved to another row or another bucket unnoticed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.kit import b64

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
PREFIX: Final = "b1."


class BucketError(ValueError):
    """A stored value that is not sealed, or that this key cannot open."""


@dataclass(frozen=True, slots=True)
class Place:
    """What a sealed wrap is and where it is stored: the associated data of its sealing."""

    purpose: str  # C (to the device), O (to the period key), R (return code), H (history grant)
    conv: str
    where: str  # e.g. the segment number; for a grant "<from conv>|<seg>|<device>"

    def aad(self, week: str) -> bytes:
        return f"vh/v1/bucket|{week}|{self.purpose}|{self.conv}|{self.where}".encode()


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def week_of_sealed(stored: str) -> str:
    """The bucket (week id) a stored value is sealed under; ``BucketError`` if it is not."""
    parts = stored.split(".")
    if len(parts) != 3 or parts[0] + "." != PREFIX or not parts[1]:
        raise BucketError("not a bucket-sealed value")
    return parts[1]


def seal(key: bytes, week: str, place: Place, value: str) -> str:
    """``value`` (a client's base64url wrap) sealed under the bucket key of ``week``."""
    if len(key) != KEY_BYTES:
        raise ValueError("a bucket key is 32 bytes")
    if "." in week:
        raise ValueError("a week id has no dots")
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, value.encode(), place.aad(week))
    return f"{PREFIX}{week}.{b64.encode(nonce + sealed)}"


def open_sealed(key: bytes, stored: str, place: Place) -> str:
    """The client's value back; ``BucketError`` for a wrong key, place or a damaged value."""
    week = week_of_sealed(stored)
    try:
        raw = b64.decode(stored.split(".")[2])
    except ValueError:
        raise BucketError("damaged bucket-sealed value") from None
    if len(raw) < NONCE_BYTES + 16:
        raise BucketError("damaged bucket-sealed value")
    try:
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], place.aad(week))
    except InvalidTag:
        raise BucketError("this bucket key does not open this value") from None
    return plain.decode()
