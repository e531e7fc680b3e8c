"""Transcript signatures (app/crypto/transcript.py): digests, signing, covers, and the ways a
signature must fail — a changed envelope, an added one, a wrong segment, another device."""

from __future__ import annotations

import hashlib
import os

import pytest

from app.crypto import message, sign, transcript
from app.crypto.certs import VerificationError
from app.kit import b64

CONV = bytes(range(16))
SEG = 2
K = bytes(32)


def _envelope(
    role: str, inst: bytes, seq: int, text: str = "hej"
) -> tuple[transcript.EnvelopeId, bytes]:
    ct = message.encrypt_message(K, CONV, SEG, role, inst, seq, {"type": "text", "body": text})
    return (role, inst, seq), transcript.envelope_digest(CONV, SEG, role, inst, seq, ct)


Y_INST, C_INST = b"\x01" * 16, b"\x02" * 16


def _chat() -> dict[transcript.EnvelopeId, bytes]:
    return dict(
        [
            _envelope("Y", Y_INST, 1),
            _envelope("C", C_INST, 1),
            _envelope("Y", Y_INST, 2),
            _envelope("C", C_INST, 2),
        ]
    )


def _signed(key: object, held: dict[transcript.EnvelopeId, bytes]) -> transcript.SignedTranscript:
    frame = transcript.make_signature(key, CONV, SEG, held)  # type: ignore[arg-type]
    return transcript.SignedTranscript(
        conv=CONV,
        seg=frame["seg"],
        n=frame["n"],
        digest=b64.decode(frame["digest"]),
        sig=b64.decode(frame["sig"]),
        covers=transcript.parse_covers(frame["covers"]),
    )


def test_the_digest_is_the_aad_and_ct_hashed() -> None:
    ct = os.urandom(272)
    want = hashlib.sha256(message.aad(1, CONV, SEG, "Y", Y_INST, 7) + ct).digest()
    assert transcript.envelope_digest(CONV, SEG, "Y", Y_INST, 7, ct) == want


def test_the_transcript_digest_does_not_depend_on_the_order_received() -> None:
    items = list(_chat().items())
    assert transcript.transcript_digest(CONV, SEG, items) == transcript.transcript_digest(
        CONV, SEG, reversed(items)
    )
    assert transcript.transcript_digest(CONV, SEG, items) != transcript.transcript_digest(
        CONV, SEG + 1, items
    )
    with pytest.raises(ValueError, match="twice"):
        transcript.transcript_digest(CONV, SEG, [items[0], items[0]])


def test_the_sort_is_by_bytes_not_by_base64_text() -> None:
    # "_" sorts after "A" in base64url text but 0xfc.. after 0x00..: the bytes decide.
    low, high = b"\x00" * 16, b"\xfc" * 16
    a, b = _envelope("Y", low, 1), _envelope("Y", high, 1)
    manual = hashlib.sha256(
        b"vh/v1/transcript" + CONV + SEG.to_bytes(4, "big") + (2).to_bytes(4, "big") + a[1] + b[1]
    ).digest()
    assert transcript.transcript_digest(CONV, SEG, [b, a]) == manual


def test_a_signature_verifies_over_what_was_held() -> None:
    key = sign.generate_private_key()
    held = _chat()
    signed = _signed(key, held)
    assert signed.n == 4
    signed.verify(sign.public_key_bytes(key), held)
    # Holding more than was signed is fine: the covers say which ones were.
    more = held | dict([_envelope("C", C_INST, 3)])
    signed.verify(sign.public_key_bytes(key), more)


def test_a_changed_envelope_fails() -> None:
    key = sign.generate_private_key()
    held = _chat()
    signed = _signed(key, held)
    changed = dict(held)
    changed[("C", C_INST, 2)] = _envelope("C", C_INST, 2, "something else")[1]
    with pytest.raises(VerificationError, match="differ"):
        signed.verify(sign.public_key_bytes(key), changed)


def test_a_missing_envelope_fails() -> None:
    key = sign.generate_private_key()
    held = _chat()
    signed = _signed(key, held)
    del held[("Y", Y_INST, 1)]
    with pytest.raises(VerificationError, match="missing"):
        signed.verify(sign.public_key_bytes(key), held)


def test_an_added_envelope_in_the_covers_fails() -> None:
    key = sign.generate_private_key()
    held = _chat()
    signed = _signed(key, held)
    forged_id, forged_digest = _envelope("C", b"\x09" * 16, 1, "forged")
    widened = transcript.SignedTranscript(
        signed.conv, signed.seg, signed.n, signed.digest, signed.sig, signed.covers | {forged_id}
    )
    with pytest.raises(VerificationError, match="number"):
        widened.verify(sign.public_key_bytes(key), held | {forged_id: forged_digest})
    recounted = transcript.SignedTranscript(
        signed.conv, signed.seg, signed.n + 1, signed.digest, signed.sig, widened.covers
    )
    with pytest.raises(VerificationError):
        recounted.verify(sign.public_key_bytes(key), held | {forged_id: forged_digest})


def test_a_wrong_segment_or_device_fails() -> None:
    key = sign.generate_private_key()
    held = _chat()
    signed = _signed(key, held)
    other_seg = transcript.SignedTranscript(
        signed.conv, SEG + 1, signed.n, signed.digest, signed.sig, signed.covers
    )
    with pytest.raises(VerificationError):
        other_seg.verify(sign.public_key_bytes(key), held)
    with pytest.raises(VerificationError):
        signed.verify(sign.public_key_bytes(sign.generate_private_key()), held)


def test_covers_round_trip_as_ranges() -> None:
    ids = [("Y", Y_INST, s) for s in (1, 2, 3, 5)] + [("C", C_INST, 1)]
    covers = transcript.covers_of(ids)
    assert covers == [
        {"role": "C", "inst": "AgICAgICAgICAgICAgICAg", "seqs": [[1, 1]]},
        {"role": "Y", "inst": "AQEBAQEBAQEBAQEBAQEBAQ", "seqs": [[1, 3], [5, 5]]},
    ]
    assert transcript.parse_covers(covers) == frozenset(ids)


@pytest.mark.parametrize(
    "covers",
    [
        None,
        [{"role": "X", "inst": "AQEBAQEBAQEBAQEBAQEBAQ", "seqs": [[1, 1]]}],
        [{"role": "Y", "inst": "AQEB", "seqs": [[1, 1]]}],
        [{"role": "Y", "inst": "AQEBAQEBAQEBAQEBAQEBAQ", "seqs": []}],
        [{"role": "Y", "inst": "AQEBAQEBAQEBAQEBAQEBAQ", "seqs": [[2, 1]]}],
        [{"role": "Y", "inst": "AQEBAQEBAQEBAQEBAQEBAQ", "seqs": [[1, 2], [3, 4]]}],
        [{"role": "Y", "inst": "AQEBAQEBAQEBAQEBAQEBAQ", "seqs": [[0, 1]]}],
        [{"role": "Y", "inst": "AQEBAQEBAQEBAQEBAQEBAQ", "seqs": [[1, True]]}],
        [{"role": "Y", "inst": "AQEBAQEBAQEBAQEBAQEBAQ", "seqs": [[1, 2**40]]}],
        [{"role": "Y", "inst": "AQEBAQEBAQEBAQEBAQEBAQ", "seqs": [[1, 1]], "x": 1}],
        [{"role": "Y", "inst": "AQEBAQEBAQEBAQEBAQEBAQ", "seqs": [[1, 1]]}] * 2,
    ],
)
def test_bad_covers_are_refused(covers: object) -> None:
    with pytest.raises(ValueError, match=r"covers|role|inst|seqs|range|stream"):
        transcript.parse_covers(covers)
