"""Building and opening envelopes of the CRYPTO.md §4 shape.

``text_envelope`` encrypts a text message under a segment key ``K`` with ``app.crypto``
(the browser does the same with ``crypto/message.js``); ``open_envelope`` decrypts one.
``test_envelope`` fills ``ct`` with random bytes of the real length (a 256-byte padded plaintext
plus a 16-byte tag): the server cannot tell it from ciphertext, which is all relay tests need.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from app import crypto
from app.chat.envelope import Envelope
from app.kit import b64


@dataclass
class Sender:
    """One sending instance (page load / client run): its ``inst`` and next ``seq`` per segment."""

    conv: str
    role: str
    inst: str = field(default_factory=lambda: b64.encode(os.urandom(16)))
    seg: int = 0
    next_seq: int = 1

    def start_segment(self, seg: int) -> None:
        """Send in segment ``seg`` from now on; ``seq`` starts at 1 per segment (CRYPTO.md §4)."""
        self.seg, self.next_seq = seg, 1

    def test_envelope(self, blocks: int = 1) -> Envelope:
        ct = b64.encode(os.urandom(256 * blocks + 16))
        envelope = Envelope(
            conv=self.conv, seg=self.seg, role=self.role, inst=self.inst, seq=self.next_seq, ct=ct
        )
        self.next_seq += 1
        return envelope

    def message_envelope(self, key: bytes, body: dict[str, Any]) -> Envelope:
        """Encrypt ``body`` under segment key ``key`` as this instance's next ``seq``."""
        seq = self.next_seq
        ct = crypto.encrypt_message(
            key, b64.decode(self.conv), self.seg, self.role, b64.decode(self.inst), seq, body
        )
        self.next_seq += 1
        return Envelope(
            conv=self.conv, seg=self.seg, role=self.role, inst=self.inst, seq=seq, ct=b64.encode(ct)
        )

    def text_envelope(self, key: bytes, text: str, *, sent_at: int | None = None) -> Envelope:
        """A ``{"type": "text", "body": text, "sent_at": unix ms}`` message, encrypted."""
        millis = int(time.time() * 1000) if sent_at is None else sent_at
        return self.message_envelope(key, {"type": "text", "body": text, "sent_at": millis})


def open_envelope(key: bytes, envelope: Envelope) -> dict[str, Any]:
    """The plaintext object of ``envelope``; raises ``crypto.MessageError`` if it cannot be opened.

    Checking ``seq`` against what was already seen of the stream is the caller's job.
    """
    try:
        conv, inst, ct = (b64.decode(v) for v in (envelope.conv, envelope.inst, envelope.ct))
    except ValueError:
        raise crypto.MessageError("the envelope's binary fields are not base64url") from None
    return crypto.decrypt_message(key, conv, envelope.seg, envelope.role, inst, envelope.seq, ct)


def open_text(key: bytes, envelope: Envelope) -> str:
    """The text of a ``text`` message; raises ``crypto.MessageError`` for anything else."""
    body = open_envelope(key, envelope)
    if body.get("type") != "text" or not isinstance(body.get("body"), str):
        raise crypto.MessageError("not a text message")
    text: str = body["body"]
    return text
