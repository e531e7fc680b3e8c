"""The end-to-end crypto of CRYPTO.md v1 (suite ``cs = 1``), pure functions over bytes.

One module per concern, each mirrored function for function by the browser module of the same
name in ``frontend/static/js/crypto/`` (``seal_segment_key_to_device`` there is
``sealSegmentKeyToDevice``); all of them reproduce ``vectors/crypto-v1.json`` and the project
golden file ``tests/vectors/v1.json``:

- ``message``: message keys, nonces, AAD, padding, message encryption (§4);
- ``hpke``: HPKE base mode, DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-GCM (RFC 9180);
- ``sign``: ECDSA P-256 SHA-256 with raw ``r ‖ s`` signatures;
- ``certs``: device and period certificates, sealed segment keys, acceptances (§2, §3);
- ``returncode``: return codes, their locator, KEK and wrap of the segment key (§3);
- ``note``: a warm transfer's handoff note, sealed to the colleague's device (§5).

The message layer is re-exported here, as it was when this package was a single module.
"""

from app.crypto import certs, hpke, note, returncode, sign
from app.crypto.message import (
    CS,
    MAX_JSON_BYTES,
    PAD_BLOCK,
    ROLES,
    TAG_BYTES,
    MessageError,
    aad,
    decrypt_message,
    encode_body,
    encrypt_message,
    hkdf,
    message_iv,
    message_key,
    nonce,
    pad,
    u32,
    u64,
    unpad,
)

__all__ = [
    "CS",
    "MAX_JSON_BYTES",
    "PAD_BLOCK",
    "ROLES",
    "TAG_BYTES",
    "MessageError",
    "aad",
    "certs",
    "decrypt_message",
    "encode_body",
    "encrypt_message",
    "hkdf",
    "hpke",
    "message_iv",
    "message_key",
    "nonce",
    "note",
    "pad",
    "returncode",
    "sign",
    "u32",
    "u64",
    "unpad",
]
