"""The message layer of CRYPTO.md §4, byte for byte as §8 lays it out (suite ``cs = 1``).

``frontend/static/js/crypto/message.js`` is the browser's copy of this module, function for
function (``message_key`` there is ``messageKey``); both reproduce ``vectors/crypto-v1.json``.

Binary arguments are raw bytes: ``conv`` and ``inst`` are the 16-byte ids (decode the envelope's
base64url first), ``role`` is ``"Y"`` or ``"C"``, ``seg`` a u32 and ``seq`` a u64.
"""

from __future__ import annotations

import json
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CS: Final = 1
#: Plaintexts are padded to a multiple of this, so a ciphertext leaks little of the length.
PAD_BLOCK: Final = 256
TAG_BYTES: Final = 16
#: ``pad`` writes the JSON length as a u16.
MAX_JSON_BYTES: Final = 2**16 - 1
ROLES: Final = ("Y", "C")


class MessageError(ValueError):
    """A message that cannot be opened: wrong key, tampered header or ciphertext, bad padding."""


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA256 (RFC 5869). An empty salt is written as 32 zero bytes, as WebCrypto needs."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt or bytes(32), info=info).derive(
        ikm
    )


def _role_byte(role: str) -> bytes:
    if role not in ROLES:
        raise ValueError("role must be 'Y' or 'C'")
    return role.encode("ascii")


def _id(value: bytes, name: str) -> bytes:
    if len(value) != 16:
        raise ValueError(f"{name} must be 16 bytes")
    return value


def u32(value: int) -> bytes:
    return value.to_bytes(4, "big")


def u64(value: int) -> bytes:
    return value.to_bytes(8, "big")


def message_key(key: bytes, conv: bytes, role: str, inst: bytes) -> bytes:
    """The AES-256-GCM key of one sender instance: ``HKDF(K, conv, "vh/v1/key|" ‖ role ‖ inst)``."""
    info = b"vh/v1/key|" + _role_byte(role) + _id(inst, "inst")
    return hkdf(key, _id(conv, "conv"), info, 32)


def message_iv(key: bytes, conv: bytes, role: str, inst: bytes) -> bytes:
    """The 12-byte base IV of one sender instance: ``HKDF(K, conv, "vh/v1/iv|" ‖ role ‖ inst)``."""
    info = b"vh/v1/iv|" + _role_byte(role) + _id(inst, "inst")
    return hkdf(key, _id(conv, "conv"), info, 12)


def nonce(iv: bytes, seq: int) -> bytes:
    """``iv XOR (4 zero bytes ‖ u64 seq)``: unique per message of one instance."""
    if len(iv) != 12:
        raise ValueError("iv must be 12 bytes")
    mask = bytes(4) + u64(seq)
    return bytes(a ^ b for a, b in zip(iv, mask, strict=True))


def aad(cs: int, conv: bytes, seg: int, role: str, inst: bytes, seq: int) -> bytes:
    """``"vh1" ‖ u8 cs ‖ conv ‖ u32 seg ‖ role ‖ inst ‖ u64 seq``: the envelope header, bound."""
    return (
        b"vh1"
        + cs.to_bytes(1, "big")
        + _id(conv, "conv")
        + u32(seg)
        + _role_byte(role)
        + _id(inst, "inst")
        + u64(seq)
    )


def encode_body(body: dict[str, Any]) -> bytes:
    """The JSON of a plaintext object as JavaScript's ``JSON.stringify`` writes it (UTF-8)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def pad(json_bytes: bytes) -> bytes:
    """``u16 n ‖ json ‖ zero bytes``, the total a multiple of 256. Raises ``ValueError`` if long."""
    if len(json_bytes) > MAX_JSON_BYTES:
        raise ValueError("message too long")
    framed = len(json_bytes).to_bytes(2, "big") + json_bytes
    return framed + bytes(-len(framed) % PAD_BLOCK)


def unpad(plaintext: bytes) -> bytes:
    """The JSON bytes of a padded plaintext; raises ``MessageError`` if the framing is wrong."""
    if len(plaintext) < PAD_BLOCK or len(plaintext) % PAD_BLOCK:
        raise MessageError("plaintext is not padded to a multiple of 256 bytes")
    n = int.from_bytes(plaintext[:2], "big")
    if 2 + n > len(plaintext) or any(plaintext[2 + n :]):
        raise MessageError("plaintext padding is malformed")
    return plaintext[2 : 2 + n]


def encrypt_message(
    key: bytes,
    conv: bytes,
    seg: int,
    role: str,
    inst: bytes,
    seq: int,
    body: dict[str, Any],
) -> bytes:
    """``ct ‖ tag`` of one message; the caller must never reuse ``seq`` for the same instance."""
    mk = message_key(key, conv, role, inst)
    iv = message_iv(key, conv, role, inst)
    plaintext = pad(encode_body(body))
    return AESGCM(mk).encrypt(nonce(iv, seq), plaintext, aad(CS, conv, seg, role, inst, seq))


def decrypt_message(
    key: bytes,
    conv: bytes,
    seg: int,
    role: str,
    inst: bytes,
    seq: int,
    ct: bytes,
) -> dict[str, Any]:
    """The plaintext object of one message. Raises ``MessageError`` when it cannot be opened."""
    if len(ct) < PAD_BLOCK + TAG_BYTES:
        raise MessageError("ciphertext is too short")
    mk = message_key(key, conv, role, inst)
    iv = message_iv(key, conv, role, inst)
    try:
        plaintext = AESGCM(mk).decrypt(nonce(iv, seq), ct, aad(CS, conv, seg, role, inst, seq))
    except InvalidTag:
        raise MessageError("the message could not be decrypted") from None
    try:
        body = json.loads(unpad(plaintext).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MessageError("the message is not UTF-8 JSON") from None
    if not isinstance(body, dict):
        raise MessageError("the message is not a JSON object")
    return body
