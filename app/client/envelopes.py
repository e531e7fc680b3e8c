"""Building envelopes of the CRYPTO.md §4 shape.

Until the E2E issue lands, ``test_envelope`` fills ``ct`` with random bytes of the real length
(a 256-byte padded plaintext plus a 16-byte tag): the server cannot tell it from ciphertext, and
nothing readable is ever stored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from app.chat.protocol import Envelope
from app.kit import b64


@dataclass
class Sender:
    """One sending instance (page load / client run): its ``inst`` and next ``seq`` per segment."""

    conv: str
    role: str
    inst: str = field(default_factory=lambda: b64.encode(os.urandom(16)))
    seg: int = 0
    next_seq: int = 1

    def test_envelope(self, blocks: int = 1) -> Envelope:
        ct = b64.encode(os.urandom(256 * blocks + 16))
        envelope = Envelope(
            conv=self.conv, seg=self.seg, role=self.role, inst=self.inst, seq=self.next_seq, ct=ct
        )
        self.next_seq += 1
        return envelope


def envelope_dict(envelope: Envelope) -> dict[str, object]:
    return {
        "v": 1,
        "cs": 1,
        "conv": envelope.conv,
        "seg": envelope.seg,
        "role": envelope.role,
        "inst": envelope.inst,
        "seq": envelope.seq,
        "ct": envelope.ct,
    }
