"""The canary of CRYPTO.md §7 with the Python client: a unique phrase sent both ways through a
real server never reaches the database (SQLite file and WAL, or every PostgreSQL row) or the
server's log. The browser canary is in tests/e2e/."""

from __future__ import annotations

import asyncio
import secrets

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.client.envelopes import open_text
from app.models import Base
from tests.conftest import Server
from tests.support import Harness, new_staff, unique_language


async def _postgres_dump(url: str) -> bytes:
    """Every row of every table, as text."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            parts = []
            for table in Base.metadata.sorted_tables:
                query = f'SELECT row_to_json(t)::text FROM "{table.name}" t'  # noqa: S608 - ours
                rows = await conn.execute(text(query))
                parts.extend(row[0] for row in rows)
    finally:
        await engine.dispose()
    return "\n".join(parts).encode()


async def test_the_phrase_never_reaches_the_database_or_the_logs(server: Server) -> None:
    """R-15: a unique phrase sent both ways is in no database file, WAL, PostgreSQL or log."""
    phrase = f"canary-{secrets.token_hex(8)}-ÅÄÖ"
    async with Harness(server) as h:
        language = unique_language()
        staff, _ = await h.console(await new_staff(server, languages=[language]))
        await staff.duty(True)
        youth = await h.youth(e2e=True)
        await youth.join(language=language)
        conv = (await youth.wait_paired())["conv"]
        key, _ = await asyncio.gather(staff.wait_keys(conv), youth.wait_connected())
        assert youth.sender is not None
        await youth.send_envelope(youth.sender.text_envelope(youth.key, f"{phrase} from youth"))
        await youth.expect("ack")
        await staff.send_envelope(staff.senders[conv].text_envelope(key, f"{phrase} from staff"))
        await staff.expect("ack")
        await youth.expect("envelope")
        assert open_text(youth.key, youth.envelopes[-1]) == f"{phrase} from staff"
        await staff.expect("envelope")
        assert open_text(key, staff.envelopes[-1]) == f"{phrase} from youth"
        await youth.send({"type": "close"})
        await youth.expect("closed")

    needles = [phrase.encode(), phrase.encode("utf-16-le"), phrase.split("-")[1].encode()]
    haystacks: dict[str, bytes] = {"log": server.log().encode()}
    path = server.database.path
    if path is not None:
        for suffix in ("", "-wal", "-journal"):
            candidate = path.with_name(path.name + suffix)
            if candidate.exists():
                haystacks[candidate.name] = candidate.read_bytes()
        assert path.name in haystacks
    else:
        haystacks["postgresql"] = await _postgres_dump(server.database.url)
        assert b'"status":"closed"' in haystacks["postgresql"]  # the dump does hold the chat
    for name, data in haystacks.items():
        for needle in needles:
            assert needle not in data, f"the phrase leaked into {name}"
