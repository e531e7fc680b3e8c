"""The young person's envelope signature (issue 13 (5), PROTOCOL.md §6.7): known answers from
the golden file, and a signature that holds only for its own envelope, key and role."""

from __future__ import annotations

import pytest

from app.chat.envelope import parse_envelope
from app.crypto import sign, transcript, youthsig
from app.kit import b64
from tests.vectors import GOLDEN_PATH, load

G = load(GOLDEN_PATH)
Y = G["youth_signature"]
D = b64.decode
CONV, SEG = D(G["conv"]), G["seg"]


def _parts() -> tuple[bytes, int, bytes, int, bytes, bytes]:
    e = Y["envelope"]
    return CONV, SEG, D(e["inst"]), e["seq"], D(e["ct"]), D(e["sig"])


def test_the_golden_signature_reproduces_and_verifies() -> None:
    """R-4: the page's envelope signature has known answers both sides reproduce."""
    conv, seg, inst, seq, ct, sig = _parts()
    digest = transcript.envelope_digest(conv, seg, "Y", inst, seq, ct)
    assert b64.encode(digest) == Y["digest"]
    assert b64.encode(youthsig.signature_message(digest)) == Y["message"]
    public = D(Y["key"]["public"])
    assert youthsig.verify_envelope(public, conv, seg, inst, seq, ct, sig)
    key = sign.private_key_from_scalar(D(Y["key"]["scalar"]))
    again = youthsig.sign_envelope(key, conv, seg, inst, seq, ct, deterministic=True)
    assert again == sig
    # The envelope with its sig is what the relay accepts (shape only).
    assert parse_envelope(Y["envelope"]).sig == Y["envelope"]["sig"]


@pytest.mark.parametrize("change", ["seg", "seq", "inst", "ct", "key", "conv"])
def test_a_signature_holds_for_its_own_envelope_and_key_only(change: str) -> None:
    """R-4: a signature moved to another envelope, place or key does not verify."""
    conv, seg, inst, seq, ct, sig = _parts()
    public = D(Y["key"]["public"])
    if change == "seg":
        seg += 1
    elif change == "seq":
        seq += 1
    elif change == "inst":
        inst = bytes(16)
    elif change == "ct":
        ct = bytes([ct[0] ^ 1]) + ct[1:]
    elif change == "conv":
        conv = bytes(16)
    else:
        public = sign.public_key_bytes(sign.generate_private_key())
    assert not youthsig.verify_envelope(public, conv, seg, inst, seq, ct, sig)


def test_it_is_not_a_transcript_or_role_c_signature() -> None:
    """The domain and the role byte keep it apart: the same key's signature over the role-C
    digest of the same bytes, or over the bare digest, is refused."""
    conv, seg, inst, seq, ct, _ = _parts()
    key = sign.private_key_from_scalar(D(Y["key"]["scalar"]))
    public = D(Y["key"]["public"])
    role_c = transcript.envelope_digest(conv, seg, "C", inst, seq, ct)
    forged = sign.sign(key, youthsig.signature_message(role_c))
    assert not youthsig.verify_envelope(public, conv, seg, inst, seq, ct, forged)
    bare = sign.sign(key, transcript.envelope_digest(conv, seg, "Y", inst, seq, ct))
    assert not youthsig.verify_envelope(public, conv, seg, inst, seq, ct, bare)


def test_bad_input_is_false_not_an_error() -> None:
    conv, seg, inst, seq, ct, sig = _parts()
    public = D(Y["key"]["public"])
    assert not youthsig.verify_envelope(b"\x04" + bytes(64), conv, seg, inst, seq, ct, sig)
    assert not youthsig.verify_envelope(public, conv, seg, inst, seq, ct, sig[:63])
    assert not youthsig.verify_envelope(public, conv[:15], seg, inst, seq, ct, sig)
    with pytest.raises(ValueError, match="32 bytes"):
        youthsig.signature_message(bytes(31))
