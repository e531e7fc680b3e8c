"""The frame parser, pure (SECURITY R-24: Hypothesis for the frame parser)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.chat.envelope import CT_MAX_CHARS, U32_MAX, U63_MAX, Envelope, parse_envelope
from app.kit import b64
from app.kit.errors import ProtocolError
from app.relay import frames, protocol
from app.relay.protocol import STAFF_TYPES, YOUTH_TYPES, parse_frame

ALL_TYPES = YOUTH_TYPES | STAFF_TYPES
FRAME_TYPES = (
    protocol.Join,
    protocol.Resume,
    protocol.Leave,
    protocol.SendEnvelope,
    protocol.Sync,
    protocol.Close,
    protocol.Delete,
    protocol.WatchBoard,
    protocol.WatchQueue,
    protocol.Keys,
    protocol.Accept,
    protocol.ReturnCode,
    protocol.Undecryptable,
    protocol.Transfer,
    protocol.OfferAnswer,
    protocol.ShareHistory,
    protocol.Duty,
    protocol.Signal,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
b64_16 = st.binary(min_size=16, max_size=16).map(b64.encode)
field_values = json_values | b64_16 | st.sampled_from(["Y", "C", "sv", "youth", True, 0, 1])


KNOWN_CODES = {
    "bad_json",
    "bad_frame",
    "unknown_type",
    "bad_envelope",
    "unsupported_version",
    "bad_triage",
    "bad_keys",
}


def _parse(text: str, allowed: frozenset[str]) -> None:
    """Parse, and check the outcome: a typed frame, or a ProtocolError with a stable code."""
    refused: ProtocolError | None = None
    try:
        frame = parse_frame(text, allowed)
    except ProtocolError as exc:
        refused = exc
    if refused is None:
        assert isinstance(frame, FRAME_TYPES)
    else:
        assert refused.code in KNOWN_CODES
        # the error frame itself is valid JSON
        json.loads(frames.error(refused.code, refused.message, refused.ref))


@given(st.text())
def test_arbitrary_text_only_ever_raises_protocol_error(text: str) -> None:
    _parse(text, YOUTH_TYPES)
    _parse(text, STAFF_TYPES)


@given(json_values)
def test_arbitrary_json_only_ever_raises_protocol_error(value: Any) -> None:
    """R-24: Arbitrary json only ever raises protocol error."""
    _parse(json.dumps(value), YOUTH_TYPES)


@given(
    st.sampled_from(sorted(ALL_TYPES)),
    st.dictionaries(
        st.sampled_from(
            ["conv", "envelope", "have", "on", "typing", "ticket", "triage", "x", "seq", "ct"]
        ),
        field_values,
        max_size=4,
    ),
)
def test_known_types_with_arbitrary_fields_only_raise_protocol_error(
    kind: str, fields: dict[str, Any]
) -> None:
    text = json.dumps({**fields, "type": kind})
    _parse(text, YOUTH_TYPES)
    _parse(text, STAFF_TYPES)


@given(
    st.dictionaries(
        st.sampled_from(["v", "cs", "conv", "seg", "role", "inst", "seq", "ct"]),
        field_values,
        min_size=8,
        max_size=8,
    )
)
def test_arbitrary_envelope_fields_only_raise_protocol_error(fields: dict[str, Any]) -> None:
    _parse(json.dumps({"type": "envelope", "envelope": fields}), YOUTH_TYPES)


@given(
    st.lists(
        st.fixed_dictionaries(
            {"seg": field_values, "role": field_values, "inst": field_values, "seq": field_values}
        ),
        max_size=3,
    )
)
def test_arbitrary_sync_cursors_only_raise_protocol_error(have: list[Any]) -> None:
    _parse(json.dumps({"type": "sync", "have": have}), YOUTH_TYPES)


def test_deep_nesting_and_huge_numbers_are_refused_cleanly() -> None:
    for text in ("[" * 50_000 + "]" * 50_000, '{"type": "join", "n": ' + "9" * 5000 + "}"):
        with pytest.raises(ProtocolError) as refused:
            parse_frame(text, YOUTH_TYPES)
        assert refused.value.code == "bad_json"


# ---------------------------------------------------------------------- envelopes

envelopes = st.builds(
    Envelope,
    conv=b64_16,
    seg=st.integers(0, U32_MAX),
    role=st.sampled_from(["Y", "C"]),
    inst=b64_16,
    seq=st.integers(1, U63_MAX),
    ct=st.integers(1, (CT_MAX_CHARS * 3 // 4 - 16) // 256).map(
        lambda k: b64.encode(os.urandom(256 * k + 16))
    ),
)


@settings(max_examples=200)
@given(envelopes)
def test_valid_envelopes_round_trip(envelope: Envelope) -> None:
    wire = envelope.to_json()
    assert parse_envelope(json.loads(wire)) == envelope
    assert json.loads(wire) == envelope.as_dict()
    frame = parse_frame(json.dumps({"type": "envelope", "envelope": json.loads(wire)}), YOUTH_TYPES)
    assert frame == protocol.SendEnvelope(envelope)
    delivered = json.loads(envelope.delivery_frame())
    assert parse_envelope(delivered["envelope"]) == envelope
    ack = json.loads(envelope.ack_frame(duplicate=True))
    assert ack == {
        "type": "ack",
        "conv": envelope.conv,
        "seg": envelope.seg,
        "inst": envelope.inst,
        "seq": envelope.seq,
        "duplicate": True,
    }


def _with_ct(nbytes: int) -> dict[str, Any]:
    return {
        "v": 1,
        "cs": 1,
        "conv": b64.encode(bytes(16)),
        "seg": 0,
        "role": "Y",
        "inst": b64.encode(bytes(range(16))),
        "seq": 1,
        "ct": b64.encode(os.urandom(nbytes)),
    }


def test_ct_length_is_256k_plus_16_bytes() -> None:
    largest = CT_MAX_CHARS * 3 // 4
    for nbytes in [*range(0, 1100), *range(largest - 600, largest + 600)]:
        raw = _with_ct(nbytes)
        expected = nbytes >= 272 and (nbytes - 16) % 256 == 0 and len(raw["ct"]) <= CT_MAX_CHARS
        if expected:
            assert parse_envelope(raw).ct == raw["ct"]
        else:
            with pytest.raises(ProtocolError) as refused:
                parse_envelope(raw)
            assert refused.value.code == "bad_envelope"


@given(st.integers(1, 40), st.text(alphabet="+/=.~ \n", min_size=1, max_size=3))
def test_ct_must_be_unpadded_base64url(blocks: int, junk: str) -> None:
    raw = _with_ct(256 * blocks + 16)
    raw["ct"] = raw["ct"][: -len(junk)] + junk
    with pytest.raises(ProtocolError):
        parse_envelope(raw)


def test_a_surrogate_pair_is_text_and_a_lone_surrogate_is_not() -> None:
    conv = "A" * 22
    pair = f'{{"type": "typing", "conv": "{conv}", "typing": true, "x": "\\ud83d\\ude00"}}'
    assert parse_frame(pair, YOUTH_TYPES) is not None
    with pytest.raises(ProtocolError) as refused:
        parse_frame(pair.replace("\\ude00", ""), YOUTH_TYPES)
    assert refused.value.code == "bad_json"


def test_an_accept_may_carry_its_signed_time_in_whole_seconds() -> None:
    """The timed acceptance's ``signed_at`` (PROTOCOL.md §6.3): absent or null is untimed, a
    whole number 0 … 2^53 - 1 is kept, anything else is ``bad_frame``."""
    base = {"type": "accept", "conv": b64.encode(os.urandom(16)), "seg": 0}
    base["sig"] = b64.encode(os.urandom(64))
    for obj, kept in (
        (base, None),
        ({**base, "signed_at": None}, None),
        ({**base, "signed_at": 0}, 0),
        ({**base, "signed_at": 1_798_700_000}, 1_798_700_000),
    ):
        frame = parse_frame(json.dumps(obj), STAFF_TYPES)
        assert isinstance(frame, protocol.Accept)
        assert frame.signed_at == kept
    for bad in (-1, 2**53, 1.5, "1798700000", True, [1]):
        with pytest.raises(ProtocolError) as refused:
            parse_frame(json.dumps({**base, "signed_at": bad}), STAFF_TYPES)
        assert refused.value.code == "bad_frame", bad
