"""The reference client's delivery rules without a server (PROTOCOL.md §4): streams move on only
after a decrypt, ids are canonical, and an ack covers its own envelope only."""

from __future__ import annotations

import dataclasses
import os

from app.client import YouthClient
from app.client.envelopes import Sender
from app.kit import b64


def _client() -> tuple[YouthClient, Sender, bytes]:
    conv = b64.encode(os.urandom(16))
    client = YouthClient("http://127.0.0.1:1")
    client.conv = conv
    key = os.urandom(32)
    client.keys[0] = key
    return client, Sender(conv=conv, role="C"), key


def _frame(envelope: object) -> dict[str, object]:
    assert dataclasses.is_dataclass(envelope)
    return {"type": "envelope", "envelope": envelope.as_dict()}  # type: ignore[attr-defined]


def test_a_forged_high_seq_does_not_block_the_stream() -> None:
    client, sender, key = _client()
    first = sender.text_envelope(key, "one")
    forged = dataclasses.replace(first, seq=50)  # the AAD no longer matches: it cannot open
    client._record(_frame(forged))
    assert client.unreadable == [forged]
    client._record(_frame(first))
    second = sender.text_envelope(key, "two")
    client._record(_frame(second))
    assert client.envelopes == [first, second]
    stream = (0, "C", sender.inst)
    assert (client.received[stream].prefix, client.received[stream].beyond) == (2, set())


def test_a_respelled_inst_is_dropped_and_a_repeat_is_a_duplicate() -> None:
    client, sender, key = _client()
    envelope = sender.text_envelope(key, "one")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(envelope.inst[-1])
    respelled = envelope.inst[:-1] + alphabet[last | 1]
    frame = _frame(envelope)
    client._record({"type": "envelope", "envelope": {**frame["envelope"], "inst": respelled}})  # type: ignore[dict-item]
    assert client.envelopes == []
    client._record(frame)
    client._record(frame)
    assert client.envelopes == [envelope]
    assert client.duplicates_received == 1


def test_an_ack_covers_its_own_envelope_only() -> None:
    client, _, _ = _client()
    assert client.conv is not None
    own = Sender(conv=client.conv, role="Y")
    one, two = own.test_envelope(), own.test_envelope()
    for envelope in (one, two):
        client.unacked[((0, "Y", own.inst), envelope.seq)] = envelope
    client._record({"type": "ack", "conv": client.conv, "seg": 0, "inst": own.inst, "seq": 2})
    assert client.is_acked(two)
    assert not client.is_acked(one)
    assert list(client.unacked.values()) == [one]
    assert client.acked[(0, "Y", own.inst)] == 0  # the sync cursor: nothing below 2 is held
    client._record({"type": "ack", "conv": client.conv, "seg": 0, "inst": own.inst, "seq": 1})
    assert client.acked[(0, "Y", own.inst)] == 2
    assert client.unacked == {}
