"""Random identifiers and tokens."""

from __future__ import annotations

import hashlib
import secrets

from app.kit import b64


def new_id() -> str:
    """A 16-byte random id as base64url (conversation, staff, device and instance ids)."""
    return b64.encode(secrets.token_bytes(16))


def new_token(nbytes: int = 16) -> str:
    """A random bearer token (ticket: 128 bits; staff session: 256 bits)."""
    return b64.encode(secrets.token_bytes(nbytes))


def token_digest(token: str) -> str:
    """What the database keeps of a bearer token: its SHA-256, so a copy of the data is no key."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()
