"""Write ``tests/vectors/v1.json``, the project golden file of CRYPTO.md §7, from fixed inputs.

Run from anywhere: ``python tests/vectors/make_v1.py``. Everything is deterministic: fixed
private scalars, fixed HPKE ephemeral keys, fixed ids, nonces and salts, and RFC 6979
deterministic ECDSA signatures, so ``tests/crypto/test_golden.py`` can check that ``build()``
reproduces the committed file byte for byte. The browser reproduces every value except the
signatures (WebCrypto's ECDSA is randomised): those it verifies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.crypto import certs, hpke, message, returncode, sign, transcript, youthsig
from app.kit import b64

GOLDEN_PATH: Final = Path(__file__).resolve().parent / "v1.json"

ABOUT: Final = (
    "Project golden file for the Virtual House E2E protocol v1 (CRYPTO.md), written by "
    "tests/vectors/make_v1.py from fixed inputs; the Python client and the browser must both "
    "reproduce it. Binary values are base64url without padding; ids are 16 bytes, seg a u32, "
    "times unix seconds, public keys 65-byte uncompressed P-256 points, signatures 64-byte r||s. "
    "Private keys are given as the raw 32-byte scalar (for WebCrypto's JWK 'd' with the public "
    "point's x and y) and as PKCS#8 DER. Every value is deterministic and must be reproduced "
    "byte for byte, except the ECDSA signatures: they were made with RFC 6979 deterministic "
    "ECDSA, which WebCrypto cannot do, so the browser verifies them (and its own signatures "
    "must verify in Python). Each section has its own 'about'."
)


def _e(data: bytes) -> str:
    return b64.encode(data)


def _scalar(byte: int) -> bytes:
    return bytes([byte]) * 32


def _key(byte: int) -> tuple[ec.EllipticCurvePrivateKey, dict[str, str]]:
    key = hpke.private_key_from_scalar(_scalar(byte))
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key, {
        "scalar": _e(_scalar(byte)),
        "pkcs8": _e(pkcs8),
        "public": _e(hpke.public_key_bytes(key)),
    }


CONV: Final = bytes.fromhex("c0ffee00112233445566778899aabbcc")
SEG: Final = 3
K: Final = bytes(range(0x40, 0x60))
STAFF_ID: Final = bytes.fromhex("5a" * 8 + "a5" * 8)
DEVICE_ID: Final = bytes.fromhex("de" * 8 + "ed" * 8)
PERIOD_ID: Final = bytes.fromhex("9e" * 8 + "e9" * 8)
DEVICE_NOT_AFTER: Final = 1_798_761_600  # 2027-01-01T00:00:00Z
ACCEPT_AT: Final = 1_798_700_000  # 2026-12-31T06:53:20Z, before the device certificate expires
PERIOD_NOT_BEFORE: Final = 1_767_225_600  # 2026-01-01T00:00:00Z
PERIOD_NOT_AFTER: Final = 1_769_904_000  # 2026-02-01T00:00:00Z
CODE: Final = "4H7Q2M9X0ZC3KV8NRT5W"
SALT: Final = bytes(range(0xA0, 0xB0))
RETURN_NONCE: Final = bytes(range(0xB0, 0xBC))
LOW_ITERATIONS: Final = 1000
INST: Final = bytes(range(0x70, 0x80))


def _hpke_entry(
    key_length: int, recipient: int, ephemeral: int, info: bytes, aad: bytes
) -> dict[str, Any]:
    sk_r, r = _key(recipient)
    sk_e, e = _key(ephemeral)
    pt = b"golden plaintext: " + bytes(range(14))
    shared_secret, enc = hpke.encap(hpke.public_key_bytes(sk_r), sk_e)
    schedule = hpke.key_schedule(shared_secret, info, key_length=key_length)
    sealed = hpke.seal(
        hpke.public_key_bytes(sk_r), info, aad, pt, key_length=key_length, ephemeral=sk_e
    )
    assert hpke.open(sk_r, sealed, info, aad, key_length=key_length) == pt
    return {
        "key_length": key_length,
        "recipient": r,
        "ephemeral": e,
        "info": _e(info),
        "aad": _e(aad),
        "pt": _e(pt),
        "enc": _e(enc),
        "shared_secret": _e(shared_secret),
        "key_schedule_context": _e(schedule.key_schedule_context),
        "secret": _e(schedule.secret),
        "key": _e(schedule.key),
        "base_nonce": _e(schedule.base_nonce),
        "exporter_secret": _e(schedule.exporter_secret),
        "sealed": _e(sealed),
    }


def _transcript_section(sig_key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    """Four envelopes of segment SEG (two streams per role would do; one Y and two C
    instances here, listed out of order) and the device's signature over them."""
    streams = [("C", bytes(range(0x90, 0xA0)), 1), ("Y", bytes([0xFF] * 16), 1)]
    streams += [("C", bytes(16), 2), ("Y", bytes([0xFF] * 16), 2)]
    entries, held = [], {}
    for i, (role, inst, seq) in enumerate(streams):
        body = {"type": "text", "body": f"transcript {i}", "sent_at": 1767225600000 + i}
        ct = message.encrypt_message(K, CONV, SEG, role, inst, seq, body)
        digest = transcript.envelope_digest(CONV, SEG, role, inst, seq, ct)
        held[(role, inst, seq)] = digest
        entries.append(
            {
                "envelope": {
                    "v": 1,
                    "cs": message.CS,
                    "conv": _e(CONV),
                    "seg": SEG,
                    "role": role,
                    "inst": _e(inst),
                    "seq": seq,
                    "ct": _e(ct),
                },
                "digest": _e(digest),
            }
        )
    digest = transcript.transcript_digest(CONV, SEG, held.items())
    n = len(held)
    return {
        "about": "Transcript signature (docs/PROTOCOL.md 'Transcript signatures'): each "
        "envelope's digest d = SHA-256(aad || ct); T = SHA-256('vh/v1/transcript' || conv || "
        "u32 seg || u32 n || d_1 || ... || d_n) with the envelopes sorted by (role byte, inst "
        "bytes, seq); message = 'vh/v1/transcript-sig' || conv || u32 seg || u32 n || T, "
        "signed by the device's ECDSA key; covers lists the signed envelopes per stream as "
        "[first, last] seq ranges. The envelopes are listed in no particular order.",
        "envelopes": entries,
        "n": n,
        "covers": transcript.covers_of(held),
        "digest": _e(digest),
        "message": _e(transcript.signature_message(CONV, SEG, n, digest)),
        "signature": _e(
            transcript.sign_transcript(sig_key, CONV, SEG, n, digest, deterministic=True)
        ),
    }


def _youth_signature_section() -> dict[str, Any]:
    """One role-Y envelope of segment SEG signed by the young person's page key."""
    youth_key, youth = _key(0xA5)
    inst, seq = bytes([0xFF] * 16), 1
    body = {"type": "text", "body": "hej, det är jag", "sent_at": 1767225600200}
    ct = message.encrypt_message(K, CONV, SEG, "Y", inst, seq, body)
    digest = transcript.envelope_digest(CONV, SEG, "Y", inst, seq, ct)
    signature = youthsig.sign_envelope(youth_key, CONV, SEG, inst, seq, ct, deterministic=True)
    return {
        "about": "The young person's envelope signature (docs/PROTOCOL.md §6.7): the page's "
        "ECDSA P-256 key (its public point sent in the join frame) signs "
        "'vh/v1/youth-envelope-sig' || d with d = SHA-256(aad || ct) of the role-Y envelope; "
        "the signature travels as the envelope's 'sig'.",
        "key": youth,
        "envelope": {
            "v": 1,
            "cs": message.CS,
            "conv": _e(CONV),
            "seg": SEG,
            "role": "Y",
            "inst": _e(inst),
            "seq": seq,
            "ct": _e(ct),
            "sig": _e(signature),
        },
        "digest": _e(digest),
        "message": _e(youthsig.signature_message(digest)),
    }


def build() -> dict[str, Any]:
    """The golden file's content; deterministic (runs PBKDF2 at 600 000 iterations once)."""
    service_key, service = _key(0xA1)
    hpke_key, device_hpke = _key(0xA2)
    sig_key, device_sig_out = _key(0xA3)
    period_key, period = _key(0xA4)
    hpke_pub, sig_pub = hpke.public_key_bytes(hpke_key), hpke.public_key_bytes(sig_key)
    period_pub = hpke.public_key_bytes(period_key)

    device_message = certs.device_cert_message(
        STAFF_ID, DEVICE_ID, hpke_pub, sig_pub, DEVICE_NOT_AFTER
    )
    device_sig = sign.sign(service_key, device_message, deterministic=True)
    period_message = certs.period_cert_message(
        PERIOD_ID, period_pub, PERIOD_NOT_BEFORE, PERIOD_NOT_AFTER
    )
    period_sig = sign.sign(service_key, period_message, deterministic=True)

    eph_c, eph_c_out = _key(0xE1)
    eph_o, eph_o_out = _key(0xE2)
    wrap_c = certs.seal_segment_key_to_device(hpke_pub, K, CONV, SEG, DEVICE_ID, ephemeral=eph_c)
    wrap_o = certs.seal_segment_key_to_period(period_pub, K, CONV, SEG, PERIOD_ID, ephemeral=eph_o)

    kek = returncode.kek(CODE, SALT)
    body = {"type": "text", "body": "Hej! Jag är här. مرحبا 👋", "sent_at": 1767225600123}
    mk = message.message_key(K, CONV, "C", INST)
    iv = message.message_iv(K, CONV, "C", INST)
    seq = 258  # past 255, so the nonce XOR reaches a second byte
    ct = message.encrypt_message(K, CONV, SEG, "C", INST, seq, body)

    return {
        "about": ABOUT,
        "suite": {
            "cs": message.CS,
            "hpke": "DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM (key_length 32), "
            "base mode; sealed = enc (65 bytes) || ct",
            "signature": "ECDSA P-256 SHA-256, raw r||s (64 bytes)",
        },
        "conv": _e(CONV),
        "seg": SEG,
        "segment_key": _e(K),
        "service_key": {"about": "The service signing key (ECDSA).", **service},
        "device": {
            "about": "A counsellor device: HPKE key, ECDSA key, certificate "
            "'vh/v1/device' || staff_id || device_id || hpke_pub || sig_pub || u64 not_after "
            "signed by the service key.",
            "staff_id": _e(STAFF_ID),
            "device_id": _e(DEVICE_ID),
            "hpke": device_hpke,
            "sig": device_sig_out,
            "not_after": DEVICE_NOT_AFTER,
            "cert_message": _e(device_message),
            "cert_signature": _e(device_sig),
        },
        "period": {
            "about": "An organisation period key (HPKE) and its certificate 'vh/v1/period' || "
            "period_id || period_pub || u64 not_before || u64 not_after, signed by the service "
            "key; valid for not_before <= now < not_after.",
            "period_id": _e(PERIOD_ID),
            **period,
            "not_before": PERIOD_NOT_BEFORE,
            "not_after": PERIOD_NOT_AFTER,
            "cert_message": _e(period_message),
            "cert_signature": _e(period_sig),
        },
        "hpke": {
            "about": "Single-shot HPKE seals with a fixed ephemeral key (recipient and "
            "ephemeral as scalar/pkcs8/public), with the key schedule's intermediate values; "
            "sealed = enc || ct. One entry per AEAD key length.",
            "entries": [
                _hpke_entry(32, 0xB1, 0xE3, b"vh/v1/golden|hpke|32", b"aad bound to the seal"),
                _hpke_entry(16, 0xB2, 0xE4, b"vh/v1/golden|hpke|16", b""),
            ],
        },
        "wraps": {
            "about": "The segment key sealed (HPKE, empty aad) to the device and to the period "
            "key with the given ephemeral keys; info 'vh/v1/wrap|C|' || conv || u32 seg || "
            "device_id and 'vh/v1/wrap|O|' || conv || u32 seg || period_id.",
            "counsellor": {
                "info": _e(certs.wrap_info_counsellor(CONV, SEG, DEVICE_ID)),
                "ephemeral": eph_c_out,
                "sealed": _e(wrap_c),
            },
            "organisation": {
                "info": _e(certs.wrap_info_organisation(CONV, SEG, PERIOD_ID)),
                "ephemeral": eph_o_out,
                "sealed": _e(wrap_o),
            },
        },
        "acceptance": {
            "about": "commit = HKDF(ikm=K, salt=32 zero bytes, info='vh/v1/commit', L=32); "
            "message = 'vh/v1/accept' || conv || u32 seg || commit, signed by the device's "
            "ECDSA key.",
            "commit": _e(certs.commit(K)),
            "message": _e(certs.acceptance_message(CONV, SEG, K)),
            "signature": _e(certs.sign_acceptance(sig_key, CONV, SEG, K, deterministic=True)),
        },
        "acceptance_at": {
            "about": "The timed acceptance (issue 13 (6), PROTOCOL.md 6.3): message = "
            "'vh/v1/accept-at' || conv || u32 seg || u64 signed_at || commit, signed by the "
            "device's ECDSA key. A reader checks signed_at <= now + clock_skew and the device "
            "certificate at signed_at: valid at signed_at, refused at expired_at (its not_after).",
            "signed_at": ACCEPT_AT,
            "clock_skew": certs.CLOCK_SKEW_SECONDS,
            "expired_at": DEVICE_NOT_AFTER,
            "message": _e(certs.acceptance_message(CONV, SEG, K, ACCEPT_AT)),
            "signature": _e(
                certs.sign_acceptance(
                    sig_key, CONV, SEG, K, signed_at=ACCEPT_AT, deterministic=True
                )
            ),
        },
        "return_code": {
            "about": "code as shown and as typed; locator = HKDF(ikm=code ASCII, salt=32 zero "
            "bytes, info='vh/v1/locator', L=16); kek = PBKDF2-HMAC-SHA256(code ASCII, salt, "
            "iterations, 32) at 600000 and, for quick checks, at kek_low.iterations; wrap = "
            "AES-256-GCM(kek, nonce, K, aad='vh/v1/wrap|R|' || conv || u32 seg) with the "
            "600000-iteration kek.",
            "code": CODE,
            "formatted": returncode.format_code(CODE),
            "typed": "4h7q-2m9x-ozc3-kv8n-rt5w",
            "locator": _e(returncode.locator(CODE)),
            "salt": _e(SALT),
            "pbkdf2_iterations": returncode.ITERATIONS,
            "kek": _e(kek),
            "kek_low": {
                "iterations": LOW_ITERATIONS,
                "kek": _e(returncode.kek(CODE, SALT, LOW_ITERATIONS)),
            },
            "nonce": _e(RETURN_NONCE),
            "aad": _e(returncode.return_aad(CONV, SEG)),
            "wrap": _e(returncode.wrap_with_code(kek, RETURN_NONCE, K, CONV, SEG)),
        },
        "message": {
            "about": "One counsellor message of segment seg under K (CRYPTO.md §4): key, iv, "
            "nonce, aad, padded plaintext, ct || tag and the envelope as sent.",
            "role": "C",
            "inst": _e(INST),
            "seq": seq,
            "plaintext_obj": body,
            "key": _e(mk),
            "iv": _e(iv),
            "nonce": _e(message.nonce(iv, seq)),
            "aad": _e(message.aad(message.CS, CONV, SEG, "C", INST, seq)),
            "plaintext": _e(message.pad(message.encode_body(body))),
            "ct": _e(ct),
            "envelope": {
                "v": 1,
                "cs": message.CS,
                "conv": _e(CONV),
                "seg": SEG,
                "role": "C",
                "inst": _e(INST),
                "seq": seq,
                "ct": _e(ct),
            },
        },
        "transcript": _transcript_section(sig_key),
        "youth_signature": _youth_signature_section(),
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    GOLDEN_PATH.write_text(render(build()), "utf-8")


if __name__ == "__main__":
    main()
