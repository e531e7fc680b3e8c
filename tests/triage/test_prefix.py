"""Matching on the heads of the queues gives the full snapshot's result whenever ``prefix.decides``
says so (app/triage/prefix.py), and the database reads the heads in queue order."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from app.db import make_engine, make_sessionmaker, transaction
from app.kit.ids import new_token, token_digest
from app.triage import prefix
from app.triage import repository as repo
from app.triage.engine import (
    OnDutyCounsellor,
    Priority,
    QueueKey,
    WaitingTicket,
    assign,
    queues,
)
from tests.conftest import Database
from tests.triage.test_engine import ROUTING, counsellors, tickets


def _heads(waiting: list[WaitingTicket], n: int) -> tuple[list[WaitingTicket], set[QueueKey]]:
    heads: list[WaitingTicket] = []
    truncated: set[QueueKey] = set()
    for key, queue in queues(waiting).items():
        heads += queue[:n]
        if len(queue) > n:
            truncated.add(key)
    return heads, truncated


@settings(max_examples=500)
@given(tickets, counsellors, st.integers(1, 6))
def test_heads_decide_exactly(
    waiting: list[WaitingTicket], staff: list[OnDutyCounsellor], n: int
) -> None:
    heads, truncated = _heads(waiting, n)
    decided = assign(heads, staff, routing=ROUTING)
    if prefix.decides(heads, staff, decided, truncated, ROUTING):
        assert decided == assign(waiting, staff, routing=ROUTING)
    if not truncated:
        assert prefix.decides(heads, staff, decided, truncated, ROUTING)


def test_one_free_seat_is_decided_by_the_heads() -> None:
    waiting = [WaitingTicket(i, "youth", "sv", Priority.NORMAL, float(i)) for i in range(1, 1001)]
    staff = [OnDutyCounsellor("a", frozenset({"sv"}), frozenset({"youth"}), 2, 1)]
    heads, truncated = _heads(waiting, 50)
    decided = assign(heads, staff)
    assert [a.ticket_id for a in decided] == [1]
    assert prefix.decides(heads, staff, decided, truncated)
    # A free seat nobody in the heads can take: the full queue must be read.
    idle = [*staff, OnDutyCounsellor("b", frozenset({"ar"}), frozenset({"youth"}), 2, 0)]
    assert not prefix.decides(heads, idle, assign(heads, idle), truncated)


async def test_queue_heads_in_queue_order(database: Database) -> None:
    engine = make_engine(database.settings())
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            rows = [
                ("youth", None, False, 10.0),
                ("youth", None, True, 30.0),
                ("youth", None, False, 5.0),
                ("youth", None, True, 20.0),
                ("youth", "police", False, 1.0),
                ("professional", None, False, 2.0),
            ]
            ids = []
            for kind, skill, urgent, joined in rows:
                ticket = await repo.add_ticket(
                    session,
                    token_digest=token_digest(new_token()),
                    kind=kind,
                    language="sv",
                    urgent=urgent,
                    now=joined,
                    skill=skill,
                )
                ids.append(ticket.id)
            gone = await repo.add_ticket(
                session,
                token_digest=token_digest(new_token()),
                kind="youth",
                language="sv",
                urgent=True,
                now=0.0,
            )
            await repo.set_presence(session, gone.id, time.time())  # not present: not matched
        async with make_sessionmaker(engine)() as session:
            heads, truncated = await repo.queue_heads(session, 3)
            everything = await repo.waiting_tickets(session, present_only=True)
    finally:
        await engine.dispose()
    by_queue = queues(heads)
    assert [t.id for t in by_queue[QueueKey("youth")]] == [ids[3], ids[1], ids[2]]
    assert [t.id for t in by_queue[QueueKey("youth", "police")]] == [ids[4]]
    assert [t.id for t in by_queue[QueueKey("professional")]] == [ids[5]]
    assert truncated == {QueueKey("youth")}
    assert {t.id for t in heads} <= {t.id for t in everything}
    assert gone.id not in {t.id for t in everything}


async def test_a_snapshot_read_does_not_wait_for_a_writer(database: Database) -> None:
    """On SQLite a ``snapshot`` is a deferred read (WAL): it reads while a writer holds the
    lock; on PostgreSQL reads never wait anyway."""
    from app.db import snapshot

    engine = make_engine(database.settings())
    sm = make_sessionmaker(engine)
    try:
        async with transaction(sm) as writer:
            await repo.add_ticket(
                writer,
                token_digest=token_digest(new_token()),
                kind="youth",
                language="sv",
                urgent=False,
                now=1.0,
            )
            async with snapshot(sm) as reader:
                assert await repo.waiting_tickets(reader, present_only=False) == []
    finally:
        await engine.dispose()
