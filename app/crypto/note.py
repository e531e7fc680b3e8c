"""A warm transfer's handoff note (CRYPTO.md §5, PROTOCOL.md §7.1), mirrored by
``frontend/static/js/crypto/note.js``: sealed by the sending console to the colleague's
certified device, opened by that device; the server relays it once and never stores it.

``sealed = HPKE.Seal(device_hpke_pub, info = "vh/v1/note|" ‖ conv ‖ device_id, aad = "",
pt = pad(JSON {"type": "note", "body": text}))``. The label keeps a note from ever opening as a
segment key wrap (``"vh/v1/wrap|C|…"``) or the reverse; the padding is a message's.
"""

from __future__ import annotations

import json
from typing import Final

from cryptography.hazmat.primitives.asymmetric import ec

from app.crypto import hpke
from app.crypto.message import MessageError, encode_body, pad, unpad

#: Sealed notes travel as base64url of at most this many characters.
NOTE_MAX_CHARS: Final = 8 * 1024


def _id(value: bytes, name: str) -> bytes:
    if len(value) != 16:
        raise ValueError(f"{name} must be 16 bytes")
    return value


def note_info(conv: bytes, device_id: bytes) -> bytes:
    """``"vh/v1/note|" ‖ conv ‖ device_id``."""
    return b"vh/v1/note|" + _id(conv, "conv") + _id(device_id, "device_id")


def seal_note(hpke_pub: bytes, text: str, conv: bytes, device_id: bytes) -> bytes:
    """``enc ‖ ct`` of ``text`` for a device whose certificate the caller has verified."""
    plaintext = pad(encode_body({"type": "note", "body": text}))
    return hpke.seal(hpke_pub, note_info(conv, device_id), b"", plaintext)


def open_note(
    sk_r: ec.EllipticCurvePrivateKey, sealed: bytes, conv: bytes, device_id: bytes
) -> str:
    """The text of a sealed note; raises ``HpkeError`` or ``MessageError`` if it cannot be."""
    plaintext = hpke.open(sk_r, sealed, note_info(conv, device_id), b"")
    body = json.loads(unpad(plaintext))
    if (
        not isinstance(body, dict)
        or body.get("type") != "note"
        or not isinstance(body.get("body"), str)
    ):
        raise MessageError("not a handoff note")
    text: str = body["body"]
    return text
