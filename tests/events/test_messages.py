"""Broker messages: every message survives encode -> decode, and nothing else decodes."""

from __future__ import annotations

import dataclasses
import json
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.chat.envelope import Envelope
from app.events import messages
from app.events.messages import BadMessage, decode, encode

B64URL = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1)
ROLES = st.sampled_from(["Y", "C"])
NUMBERS = st.none() | st.integers() | st.floats(allow_nan=False)

JSON_MESSAGES = (
    messages.Paired,
    messages.Requeued,
    messages.Replaced,
    messages.Assigned,
    messages.Duty,
    messages.DeviceAdded,
    messages.Logout,
    messages.Offer,
    messages.OfferWithdrawn,
    messages.TransferPending,
    messages.TransferReturned,
    messages.Transferred,
    messages.QueueChanged,
    messages.Closed,
)


def _json_message(cls: type[messages.Message]) -> st.SearchStrategy[messages.Message]:
    numbers = {f.name: NUMBERS for f in dataclasses.fields(cls) if "float" in str(f.type)}
    return st.builds(cls, **numbers)


ANY_MESSAGE = st.one_of(
    *(_json_message(cls) for cls in JSON_MESSAGES),
    st.builds(
        messages.EnvelopeRelayed,
        role=ROLES,
        seg=st.integers(0, 2**32 - 1),
        inst=B64URL,
        seq=st.integers(1, 2**63 - 1),
        frame=st.text(),
    ),
    st.builds(messages.Signal, role=ROLES, frame=st.text()),
)


def test_every_message_type_is_generated() -> None:
    assert set(get_args(messages.Message)) == {
        *JSON_MESSAGES,
        messages.EnvelopeRelayed,
        messages.Signal,
    }


@given(ANY_MESSAGE)
def test_every_message_round_trips(message: messages.Message) -> None:
    text = encode(message)
    assert decode(text) == message
    assert encode(decode(text)) == text


@given(ANY_MESSAGE)
def test_json_messages_are_compact(message: messages.Message) -> None:
    text = encode(message)
    if not isinstance(message, messages.EnvelopeRelayed | messages.Signal):
        assert text == json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)


@given(
    seg=st.integers(0, 2**32 - 1),
    role=ROLES,
    inst=B64URL,
    seq=st.integers(1, 2**63 - 1),
    ct=B64URL,
)
def test_the_envelope_relay_string_round_trips(
    seg: int, role: str, inst: str, seq: int, ct: str
) -> None:
    envelope = Envelope(conv="c" * 22, seg=seg, role=role, inst=inst, seq=seq, ct=ct)
    text = messages.envelope_event(envelope)
    relayed = messages.parse_envelope_event(text)
    assert relayed == messages.EnvelopeRelayed(role, seg, inst, seq, envelope.delivery_frame())
    assert decode(text) == relayed
    assert encode(relayed) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "changed",
        "{}",
        "[]",
        "null",
        '{"t":1}',
        '{"t":"nope"}',
        '{"t":"paired","conv":"c"}',
        '{"t":"paired","conv":"c","alias":"a","extra":1}',
        '{"t":"paired","conv":1,"alias":"a"}',
        '{"t":"duty","on":1}',
        '{"t":"assigned","conv":"c","kind":"youth","language":"sv","urgent":"yes"}',
        '{"t":"offer","conv":"c","kind":"k","language":"sv","urgent":false,"expires_at":true,'
        '"from_alias":null,"note":null}',
        '{"t":"closed","conv":"c","by":"Y","reason":null}',
        '{"t":"queue_changed","x":1}',
        "[" * 100_000,
        "E|",
        "E|Y|0|inst|1",
        "E|Q|0|inst|1|{}",
        "E|Y|x|inst|1|{}",
        "E|Y|0|inst|-1|{}",
        "E|Y|0||1|{}",
        "E|Y|1_0|inst|1|{}",
        "E|Y|²|inst|1|{}",
        "S|",
        "S|Z|{}",
        "S|Y",
    ],
)
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(BadMessage):
        decode(text)


@given(st.text())
def test_arbitrary_text_decodes_or_raises_bad_message(text: str) -> None:
    try:
        message = decode(text)
    except BadMessage:
        return
    assert decode(encode(message)) == message


def test_bad_message_never_repeats_the_text() -> None:
    secret = "a-secret-alias"
    for text in (
        f'{{"t":"{secret}"}}',
        f'{{"t":"paired","conv":"{secret}"}}',
        f'{{"t":"paired","conv":"c","alias":1,"{secret}":1}}',
    ):
        with pytest.raises(BadMessage) as caught:
            decode(text)
        assert secret not in str(caught.value)
