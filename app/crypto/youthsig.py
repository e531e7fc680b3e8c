"""The young person's page signs each envelope it sends (issue 13 (5), PROTOCOL.md §6.7).

Mirrored by ``frontend/static/js/crypto/youthsig.js``; ``tests/vectors/v1.json``
("youth_signature") holds the known answers.

The page makes a fresh ECDSA P-256 key pair for the conversation (never stored) and sends its
public point in the ``join`` frame; the server keeps it with the ticket before any counsellor
is paired. Each role-Y envelope then carries ``sig``: the page's signature of

    ``"vh/v1/youth-envelope-sig" ‖ d``,  ``d = SHA-256(aad ‖ ct)`` (as in §6.6)

The AAD (CRYPTO.md §8) is fixed-length and already binds conv, seg, the role byte, inst and
seq, so ``d`` names the envelope's place as well as its bytes: a signature cannot be moved to
another envelope, another segment or role C. The domain prefix keeps it apart from every other
signature the project makes. AEAD under ``K`` proves only that the writer held ``K``; this
signature proves the writer held the page's key.
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives.asymmetric import ec

from app.crypto import sign
from app.crypto.transcript import DIGEST_BYTES, envelope_digest

DOMAIN: Final = b"vh/v1/youth-envelope-sig"
ROLE: Final = "Y"


def signature_message(digest: bytes) -> bytes:
    """``"vh/v1/youth-envelope-sig" ‖ d`` for the envelope digest ``d``."""
    if len(digest) != DIGEST_BYTES:
        raise ValueError("the envelope digest is 32 bytes")
    return DOMAIN + digest


def sign_envelope(
    key: ec.EllipticCurvePrivateKey,
    conv: bytes,
    seg: int,
    inst: bytes,
    seq: int,
    ct: bytes,
    *,
    deterministic: bool = False,
) -> bytes:
    """The page's 64-byte signature of its role-Y envelope (``ct`` with its tag, as sent)."""
    digest = envelope_digest(conv, seg, ROLE, inst, seq, ct)
    return sign.sign(key, signature_message(digest), deterministic=deterministic)


def verify_envelope(
    public_key: bytes, conv: bytes, seg: int, inst: bytes, seq: int, ct: bytes, signature: bytes
) -> bool:
    """Whether ``signature`` is the page key's over this role-Y envelope. Never raises for bad
    input (a malformed key, signature or header gives False)."""
    try:
        digest = envelope_digest(conv, seg, ROLE, inst, seq, ct)
    except (ValueError, OverflowError):
        return False
    return sign.verify(public_key, signature_message(digest), signature)
