"""The ``transcript_sig`` frame's shape check (issue 13 (5), PROTOCOL.md §6.6): the server
cannot verify a signature over envelopes it never opens, so it checks the shape only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.kit import b64
from app.kit.errors import ProtocolError
from app.relay import frames, protocol

CONV = b64.encode(bytes(16))
INST = b64.encode(b"\x01" * 16)


def _frame(**changes: Any) -> dict[str, Any]:
    frame = {
        "type": "transcript_sig",
        "conv": CONV,
        "seg": 0,
        "n": 3,
        "digest": b64.encode(bytes(32)),
        "sig": b64.encode(bytes(64)),
        "covers": [{"role": "Y", "inst": INST, "seqs": [[1, 2], [4, 4]]}],
    }
    return frame | changes


def test_a_well_formed_signature_is_parsed_and_relayed_as_sent() -> None:
    parsed = protocol.parse_frame(json.dumps(_frame()), protocol.STAFF_TYPES)
    assert isinstance(parsed, protocol.TranscriptSig)
    assert (parsed.conv, parsed.seg, parsed.n) == (CONV, 0, 3)
    relayed = json.loads(
        frames.transcript_sig(
            parsed.conv, parsed.seg, parsed.n, parsed.digest, parsed.sig, parsed.covers
        )
    )
    assert relayed == _frame()


def test_the_young_person_cannot_send_one() -> None:
    with pytest.raises(ProtocolError) as refused:
        protocol.parse_frame(json.dumps(_frame()), protocol.YOUTH_TYPES)
    assert refused.value.code == "unknown_type"


@pytest.mark.parametrize(
    "changes",
    [
        {"n": 2},  # not the number covers names
        {"n": -1},
        {"n": True},
        {"digest": b64.encode(bytes(31))},
        {"sig": b64.encode(bytes(63))},
        {"seg": -1},
        {"conv": "x"},
        {"covers": "[]"},
        {"covers": [{"role": "Y", "inst": INST, "seqs": [[1, 10**9]]}]},  # beyond MAX_COVERED
        {"covers": [{"role": "Y", "inst": INST, "seqs": [[1, 2], [3, 3]]}]},  # not merged
    ],
)
def test_a_malformed_one_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as refused:
        protocol.parse_frame(json.dumps(_frame(**changes)), protocol.STAFF_TYPES)
    assert refused.value.code == "bad_frame"
