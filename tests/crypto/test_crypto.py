"""The message layer (CRYPTO.md §4, §8) against the reference vectors, and its negative cases."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from app import crypto
from app.chat.envelope import parse_envelope
from app.client.envelopes import Sender, open_envelope, open_text
from app.kit import b64

#: The requirements folder sits beside the repository (locally and in CI).
VECTORS_PATH = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "crypto-v1.json"


def _vectors() -> dict[str, Any]:
    if not VECTORS_PATH.exists():
        pytest.fail(f"reference vectors missing: {VECTORS_PATH}")
    data: dict[str, Any] = json.loads(VECTORS_PATH.read_text("utf-8"))
    return data


VECTORS = _vectors()
CONV = b64.decode(VECTORS["conv"])
SEG: int = VECTORS["seg"]
K = b64.decode(VECTORS["segment_key"])
MESSAGES: list[dict[str, Any]] = VECTORS["messages"]
IDS = [f"{m['role']}{m['seq']}" for m in MESSAGES]


def test_rfc5869_case_1() -> None:
    ikm = bytes([0x0B] * 22)
    salt = bytes(range(13))
    info = bytes(range(0xF0, 0xFA))
    okm = crypto.hkdf(ikm, salt, info, 42)
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


def test_empty_salt_is_32_zero_bytes() -> None:
    assert crypto.hkdf(b"ikm", b"", b"info", 32) == crypto.hkdf(b"ikm", bytes(32), b"info", 32)


def test_hkdf_without_salt_matches_the_vectors() -> None:
    # Locator and commit are HKDF with no salt (CRYPTO.md §8): both must come out byte for byte.
    code = VECTORS["return_code"]["code"].encode("ascii")
    assert (
        b64.encode(crypto.hkdf(code, b"", b"vh/v1/locator", 16))
        == (VECTORS["return_code"]["locator"])
    )
    assert b64.encode(crypto.hkdf(K, b"", b"vh/v1/commit", 32)) == VECTORS["acceptance"]["commit"]


@pytest.mark.parametrize("m", MESSAGES, ids=IDS)
def test_message_vector(m: dict[str, Any]) -> None:
    inst = b64.decode(m["inst"])
    role, seq = m["role"], m["seq"]
    key = crypto.message_key(K, CONV, role, inst)
    iv = crypto.message_iv(K, CONV, role, inst)
    assert b64.encode(key) == m["key"]
    assert b64.encode(iv) == m["iv"]
    assert b64.encode(crypto.nonce(iv, seq)) == m["nonce"]
    assert b64.encode(crypto.aad(1, CONV, SEG, role, inst, seq)) == m["aad"]
    assert b64.encode(crypto.pad(crypto.encode_body(m["plaintext_obj"]))) == m["plaintext"]
    ct = crypto.encrypt_message(K, CONV, SEG, role, inst, seq, m["plaintext_obj"])
    assert b64.encode(ct) == m["ct"]
    assert crypto.decrypt_message(K, CONV, SEG, role, inst, seq, ct) == m["plaintext_obj"]


@pytest.mark.parametrize("m", MESSAGES, ids=IDS)
def test_envelope_vector(m: dict[str, Any]) -> None:
    envelope = parse_envelope(m["envelope"])
    assert open_envelope(K, envelope) == m["plaintext_obj"]
    sender = Sender(
        conv=VECTORS["conv"], role=m["role"], inst=m["inst"], seg=SEG, next_seq=m["seq"]
    )
    made = sender.message_envelope(K, m["plaintext_obj"])
    assert made.as_dict() == m["envelope"]
    assert sender.next_seq == m["seq"] + 1


def test_pad_unpad() -> None:
    assert len(crypto.pad(b"")) == 256
    assert len(crypto.pad(b"x" * 254)) == 256
    assert len(crypto.pad(b"x" * 255)) == 512
    for n in (0, 1, 254, 255, 1000):
        assert crypto.unpad(crypto.pad(b"y" * n)) == b"y" * n
    with pytest.raises(ValueError, match="too long"):
        crypto.pad(b"x" * 65536)


@pytest.mark.parametrize(
    "plaintext",
    [b"", b"\x00" * 255, b"\x01\x00" + bytes(254), b"\x00\x01a" + b"\x01" + bytes(252)],
    ids=["empty", "not-a-block", "length-past-end", "non-zero-padding"],
)
def test_unpad_refuses_bad_framing(plaintext: bytes) -> None:
    with pytest.raises(crypto.MessageError):
        crypto.unpad(plaintext)


M0 = MESSAGES[0]
INST0 = b64.decode(M0["inst"])
CT0 = b64.decode(M0["ct"])


@pytest.mark.parametrize(
    ("key", "conv", "seg", "role", "inst", "seq", "ct"),
    [
        (bytes(32), CONV, SEG, "Y", INST0, 1, CT0),
        (K, bytes(16), SEG, "Y", INST0, 1, CT0),
        (K, CONV, SEG + 1, "Y", INST0, 1, CT0),
        (K, CONV, SEG, "C", INST0, 1, CT0),
        (K, CONV, SEG, "Y", bytes(16), 1, CT0),
        (K, CONV, SEG, "Y", INST0, 2, CT0),
        (K, CONV, SEG, "Y", INST0, 1, CT0[:-1]),
        (K, CONV, SEG, "Y", INST0, 1, CT0[:100]),
        (K, CONV, SEG, "Y", INST0, 1, bytes([CT0[0] ^ 1]) + CT0[1:]),
    ],
    ids=["key", "conv", "seg", "role", "inst", "seq", "truncated", "short", "flipped-bit"],
)
def test_decrypt_refuses_tampering(
    key: bytes, conv: bytes, seg: int, role: str, inst: bytes, seq: int, ct: bytes
) -> None:
    with pytest.raises(crypto.MessageError):
        crypto.decrypt_message(key, conv, seg, role, inst, seq, ct)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="role"):
        crypto.aad(1, CONV, 0, "X", INST0, 1)
    with pytest.raises(ValueError, match="conv"):
        crypto.message_key(K, b"short", "Y", INST0)
    with pytest.raises(ValueError, match="iv"):
        crypto.nonce(b"\x00" * 11, 1)


def test_text_round_trip_under_a_segment_key() -> None:
    conv = VECTORS["conv"]
    key = os.urandom(32)
    youth = Sender(conv=conv, role="Y")
    text = "<img src=x onerror=alert(1)> — مرحبا " + "ü" * 300
    envelope = youth.text_envelope(key, text)
    parse_envelope(envelope.as_dict())  # the server accepts its shape
    assert envelope.seq == 1
    assert youth.next_seq == 2
    assert len(b64.decode(envelope.ct)) == 768 + 16
    assert open_text(key, envelope) == text
    assert open_envelope(key, envelope)["type"] == "text"
    with pytest.raises(crypto.MessageError):
        open_text(os.urandom(32), envelope)
