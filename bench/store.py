"""P-5: durable envelopes per second, per-message commit against group commit.

    python -m bench.store --envelopes 20000 --producers 200
    python -m bench.store --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

Drives the real EnvelopeStore (app/chat/store.py) in-process: ``producers`` tasks each
append envelopes one after another, waiting for each commit as a socket does before its ack.
``batch_max=1`` is per-message commit. Prints JSON lines and a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from app.chat.store import EnvelopeStore
from app.client.envelopes import Sender
from app.config import Settings
from app.db import make_engine, make_sessionmaker, transaction
from app.kit.ids import new_id
from app.models import Conversation, Staff, Ticket


async def _prepare(url: str, conversations: int) -> list[str]:
    from app import migrate

    await asyncio.to_thread(migrate.upgrade, url)
    engine = make_engine(Settings(mode="test", database_url=url))
    convs = [new_id() for _ in range(conversations)]
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            staff = Staff(
                id=new_id(),
                username=f"bench-{new_id()[:8]}".lower(),
                alias="B",
                role="counsellor",
                password_hash="x",
                totp_secret="x",
                totp_last_step=0,
                languages="sv",
                skills="youth",
                capacity=conversations,
                disabled=False,
                on_duty=False,
                idle_since=0.0,
                created_at=0.0,
            )
            session.add(staff)
            await session.flush()
            for conv in convs:
                ticket = Ticket(
                    token_digest=new_id() + new_id(),
                    kind="youth",
                    language="sv",
                    urgent=False,
                    status="assigned",
                    joined_at=0.0,
                )
                session.add(ticket)
                await session.flush()
                session.add(
                    Conversation(id=conv, ticket_id=ticket.id, staff_id=staff.id, opened_at=0.0)
                )
    finally:
        await engine.dispose()
    return convs


async def _run(
    url: str, convs: list[str], envelopes: int, producers: int, batch_max: int
) -> dict[str, Any]:
    engine = make_engine(Settings(mode="test", database_url=url))
    store = EnvelopeStore(engine, batch_max=batch_max)
    await store.start()
    per_producer = envelopes // producers

    async def produce(i: int) -> None:
        sender = Sender(conv=convs[i % len(convs)], role="Y")
        for _ in range(per_producer):
            assert await store.append(sender.test_envelope())

    started = time.perf_counter()
    await asyncio.gather(*(produce(i) for i in range(producers)))
    elapsed = time.perf_counter() - started
    await store.close()
    await engine.dispose()
    total = per_producer * producers
    return {
        "scenario": "P-5",
        "database": url.split(":", 1)[0],
        "commit": "group" if batch_max > 1 else "per-message",
        "producers": producers,
        "envelopes": total,
        "envelopes_per_s": round(total / elapsed, 1),
        "commits": store.batches,
        "mean_batch": round(total / max(1, store.batches), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        action="append",
        default=None,
        help="repeatable; default: a fresh SQLite file",
    )
    parser.add_argument("--envelopes", type=int, default=20_000)
    parser.add_argument("--producers", type=int, default=200)
    parser.add_argument(
        "--per-message-envelopes",
        type=int,
        default=2_000,
        help="per-message commit is slow: measure it on fewer envelopes",
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vh-bench-store-"))
    urls = args.database_url or [f"sqlite+aiosqlite:///{tmp}/store.sqlite3"]
    rows = []
    try:
        for url in urls:
            convs = asyncio.run(_prepare(url, args.producers))
            for batch_max, n in ((1, args.per_message_envelopes), (256, args.envelopes)):
                row = asyncio.run(_run(url, convs, n, args.producers, batch_max))
                print(json.dumps(row), flush=True)
                rows.append(row)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f"{'database':12} {'commit':12} {'envelopes/s':>12} {'mean batch':>11}")
    for row in rows:
        print(
            f"{row['database']:12} {row['commit']:12} "
            f"{row['envelopes_per_s']:12.0f} {row['mean_batch']:11.1f}"
        )
    print("target: group commit >= 5000 durable envelopes/s on SQLite and PostgreSQL")


if __name__ == "__main__":
    main()
