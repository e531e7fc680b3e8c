"""The group-commit envelope store on a migrated database of each kind (P-5, R-20)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from app.chat.envelope import Envelope
from app.chat.store import EnvelopeStore, StoreUnavailable
from app.client.envelopes import Sender
from app.db import make_engine, make_sessionmaker, transaction
from app.kit.ids import new_id
from app.models import Conversation, Staff, Ticket
from tests.conftest import Database


@dataclass
class Store:
    store: EnvelopeStore
    convs: list[str]


async def _conversations(database: Database, n: int) -> list[str]:
    """``n`` open conversations (envelopes reference them)."""
    engine = make_engine(database.settings())
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            staff_id = new_id()
            session.add(
                Staff(
                    id=staff_id,
                    username=f"s{staff_id[:8].lower()}",
                    alias="Sara",
                    role="counsellor",
                    password_hash="-",
                    totp_secret="-",
                    created_at=0.0,
                )
            )
            convs = []
            for i in range(n):
                ticket = Ticket(
                    token_digest=new_id(), kind="youth", language="sv", joined_at=float(i)
                )
                session.add(ticket)
                await session.flush()
                conv_id = new_id()
                session.add(
                    Conversation(id=conv_id, ticket_id=ticket.id, staff_id=staff_id, opened_at=0.0)
                )
                convs.append(conv_id)
    finally:
        await engine.dispose()
    return convs


@pytest.fixture
async def store(database: Database) -> AsyncIterator[Store]:
    convs = await _conversations(database, 3)
    engine = make_engine(database.settings())
    envelope_store = EnvelopeStore(engine)
    await envelope_store.start()
    try:
        yield Store(envelope_store, convs)
    finally:
        await envelope_store.close()
        await engine.dispose()


async def test_append_is_new_once_then_a_resend(store: Store) -> None:
    sender = Sender(conv=store.convs[0], role="Y")
    envelope = sender.test_envelope()
    assert await store.store.append(envelope) is True
    assert await store.store.append(envelope) is False
    # The key decides, not the bytes: a resend with other ct is still the same envelope.
    changed = Envelope(**{**_fields(envelope), "ct": sender.test_envelope().ct})
    assert await store.store.append(changed) is False
    assert await store.store.read(store.convs[0]) == [envelope]
    # The same seq in another stream (other role, inst, seg or conversation) is new.
    for other in (
        Envelope(**{**_fields(envelope), "role": "C"}),
        Envelope(**{**_fields(envelope), "inst": Sender(conv="", role="Y").inst}),
        Envelope(**{**_fields(envelope), "seg": 1}),
        Envelope(**{**_fields(envelope), "conv": store.convs[1]}),
    ):
        assert await store.store.append(other) is True


def _fields(envelope: Envelope) -> dict[str, object]:
    return {k: getattr(envelope, k) for k in ("conv", "seg", "role", "inst", "seq", "ct")}


async def test_a_batch_with_duplicates_inside_it(store: Store) -> None:
    sender = Sender(conv=store.convs[0], role="Y")
    stored_before = sender.test_envelope()
    assert await store.store.append(stored_before) is True
    a, b = sender.test_envelope(), sender.test_envelope()
    batches = store.store.batches
    # Submitted without yielding: the writer takes them as one transaction.
    futures = [store.store.submit(e) for e in (a, a, b, stored_before, b, a)]
    results = await asyncio.gather(*futures)
    assert results == [True, False, True, False, False, False]
    assert store.store.batches == batches + 1
    assert await store.store.read(store.convs[0]) == [stored_before, a, b]


async def test_concurrent_appends_all_commit(store: Store) -> None:
    senders = [Sender(conv=store.convs[i % 3], role="YC"[i % 2]) for i in range(40)]

    async def write(sender: Sender) -> list[Envelope]:
        written = []
        for _ in range(15):
            envelope = sender.test_envelope()
            assert await store.store.append(envelope) is True
            written.append(envelope)
        return written

    batches = store.store.batches
    written = await asyncio.gather(*(write(s) for s in senders))
    assert store.store.batches - batches < 40 * 15  # group commit took several at once
    for i, conv in enumerate(store.convs):
        stored = await store.store.read(conv)
        expected = [e for w, s in zip(written, senders, strict=True) if s.conv == conv for e in w]
        assert sorted(stored, key=_key) == sorted(expected, key=_key)
        # Each stream is stored in the order it was sent.
        for sender in senders[i::3]:
            seqs = [e.seq for e in stored if e.inst == sender.inst]
            assert seqs == list(range(1, 16))


def _key(envelope: Envelope) -> tuple[int, str, str, int]:
    return (envelope.seg, envelope.role, envelope.inst, envelope.seq)


async def test_read_returns_the_stored_order(store: Store) -> None:
    youth, staff = Sender(conv=store.convs[2], role="Y"), Sender(conv=store.convs[2], role="C")
    order = [youth.test_envelope(), staff.test_envelope(), youth.test_envelope()]
    order += [staff.test_envelope() for _ in range(3)] + [youth.test_envelope(blocks=3)]
    for envelope in order:
        await store.store.append(envelope)
    assert await store.store.read(store.convs[2]) == order
    assert await store.store.read(store.convs[0]) == []
    assert await store.store.read(new_id()) == []


async def test_a_refused_batch_is_reported_and_the_writer_goes_on(store: Store) -> None:
    orphan = Sender(conv=new_id(), role="Y").test_envelope()  # no such conversation
    with pytest.raises(StoreUnavailable):
        await store.store.append(orphan)
    envelope = Sender(conv=store.convs[0], role="Y").test_envelope()
    assert await store.store.append(envelope) is True
    assert await store.store.read(store.convs[0]) == [envelope]
    assert await store.store.read(orphan.conv) == []


async def test_one_bad_envelope_does_not_fail_its_batch(store: Store) -> None:
    """A batch holding one unstorable envelope stores the others (retried one by one)."""
    senders = [Sender(conv=conv, role="Y") for conv in store.convs[:3]]
    good = [s.test_envelope() for s in senders for _ in range(5)]
    orphan = Sender(conv=new_id(), role="Y").test_envelope()
    # Submitted together, without awaiting in between: they share one batch.
    futures = [store.store.submit(e) for e in (*good[:7], orphan, *good[7:])]
    results = await asyncio.gather(*futures, return_exceptions=True)
    assert isinstance(results[7], StoreUnavailable)
    assert [r for i, r in enumerate(results) if i != 7] == [True] * len(good)
    for conv in store.convs[:3]:
        assert await store.store.read(conv) == [e for e in good if e.conv == conv]


async def test_a_batch_larger_than_one_insert_statement(store: Store) -> None:
    """The SQLite writer inserts a batch in statements of ``_SQLITE_ROWS`` rows: a batch that
    spans several, with resends of stored envelopes in each, is new exactly where it is new."""
    senders = [Sender(conv=store.convs[i % 3], role="YC"[i % 2]) for i in range(6)]
    stored = [s.test_envelope() for s in senders]
    for envelope in stored:
        assert await store.store.append(envelope) is True
    fresh = [s.test_envelope() for s in senders for _ in range(40)]  # 240: two statements
    batch = fresh[:120] + stored + fresh[120:]
    batches = store.store.batches
    results = await asyncio.gather(*(store.store.submit(e) for e in batch))
    assert results == [True] * 120 + [False] * 6 + [True] * 120
    assert store.store.batches == batches + 1
    read = [e for conv in store.convs for e in await store.store.read(conv)]
    assert sorted(e.key for e in read) == sorted(e.key for e in stored + fresh)
