"""Anonymous aggregates seeded through the real paths: finished tickets taken in by
``rollup.roll_up``, close tags counted by the same upsert a close uses."""

from __future__ import annotations

import time

from app.db import make_engine, make_sessionmaker, transaction
from app.kit.ids import new_token, token_digest
from app.models import Ticket
from app.supervision import repository as repo
from app.supervision import rollup, stats
from app.supervision.feedback import increments
from app.triage.hours import DEFAULT_TIMEZONE
from tests.conftest import Database


async def seed(
    database: Database,
    *,
    skill: str | None,
    served_waits: list[float],
    abandoned: int = 0,
    topic: str | None = "forced_marriage",
    tags: dict[tuple[str, str], int] | None = None,
    feedback: dict[str, int] | None = None,
    at: float | None = None,
) -> str:
    """Tickets that joined at ``at`` (default: a minute ago) in queue ``youth[/skill]``, served
    after each of ``served_waits`` seconds or left; rolled up; ``feedback`` answers counted
    on that day by the endpoint's upsert. Returns the queue's name."""
    now = time.time()
    joined = now - 60 if at is None else at
    engine = make_engine(database.settings())
    try:
        sessionmaker = make_sessionmaker(engine)
        async with transaction(sessionmaker) as session:
            for i, wait in enumerate([*served_waits, *([None] * abandoned)]):
                session.add(
                    Ticket(
                        token_digest=token_digest(new_token()),
                        kind="youth",
                        skill=skill,
                        language="sv",
                        topic=topic,
                        urgent=False,
                        status="ended" if wait is not None else "left",
                        joined_at=joined + i * 0.001,
                        assigned_at=None if wait is None else joined + wait,
                        ended_at=joined + 30,
                    )
                )
        queue = "youth" if skill is None else f"youth/{skill}"
        day = stats.local_day(joined, DEFAULT_TIMEZONE).isoformat()
        async with transaction(sessionmaker) as session:
            while await rollup.roll_up(session, now=now, timezone=DEFAULT_TIMEZONE):
                pass
            for (dimension, value), n in (tags or {}).items():
                for _ in range(n):
                    await repo.count_close_tag(
                        session, day=day, queue=queue, dimension=dimension, value=value
                    )
            for answer, n in (feedback or {}).items():
                for _ in range(n):
                    added = increments(answer)
                    await repo.count_feedback(session, day=day, kind="youth", added=added)
    finally:
        await engine.dispose()
    return queue
