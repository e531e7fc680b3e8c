"""The per-stream position (``SeqSet``) and the replay rule (``missing_envelopes``)."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from app.chat.envelope import Envelope, SeqSet, StreamCursor, missing_envelopes
from app.kit import b64

seqs = st.lists(st.integers(min_value=1, max_value=40), max_size=60)


@given(seqs)
def test_seqset_is_a_prefix_plus_what_lies_beyond(added: list[int]) -> None:
    held = SeqSet()
    model: set[int] = set()
    for seq in added:
        assert held.add(seq) is (seq not in model)
        model.add(seq)
    prefix = 0
    while prefix + 1 in model:
        prefix += 1
    assert held.prefix == prefix
    assert held.beyond == {s for s in model if s > prefix}
    assert all(s in held for s in model)
    assert not any(s in held for s in range(1, 42) if s not in model)
    highest = max(model, default=0)
    assert held.missing() == highest - len(model)
    assert [s for lo, hi in held.gaps() for s in range(lo, hi + 1)] == [
        s for s in range(1, highest + 1) if s not in model
    ]


def test_seq_1_3_2_is_delivered_whole() -> None:
    held = SeqSet()
    assert held.add(1)
    assert held.add(3)
    assert (held.prefix, held.missing(), held.gaps()) == (1, 1, [(2, 2)])
    assert held.add(2)
    assert (held.prefix, held.beyond, held.missing()) == (3, set(), 0)
    assert not held.add(2)
    assert not held.add(3)


@given(st.permutations(list(range(1, 9))), st.integers(min_value=0, max_value=8))
def test_sync_above_the_prefix_replays_every_stored_envelope_not_held(
    order: list[int], received: int
) -> None:
    """Stored in any order, a client holding any subset is replayed everything it lacks."""
    conv, inst = b64.encode(os.urandom(16)), b64.encode(os.urandom(16))
    stored = [Envelope(conv, 0, "Y", inst, seq, "x") for seq in order]
    held = SeqSet()
    for envelope in stored[:received]:
        held.add(envelope.seq)
    replay = missing_envelopes(stored, (StreamCursor(0, "Y", inst, held.prefix),))
    assert [e.seq for e in replay] == [s for s in order if s > held.prefix]  # stored order
    for envelope in replay:
        held.add(envelope.seq)
    assert held.prefix == 8
    assert held.missing() == 0
