"""Close categories counted when a counsellor closes a chat (issue 11), and their export.

``record`` runs inside the close's transaction, so a chat is counted exactly when it closes;
the counts carry a day, a queue and the tag, never the conversation. ``export`` suppresses
every count under ``stats.MIN_COUNT`` like the other aggregates.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.supervision import closetags, stats
from app.supervision import repository as repo
from app.triage.questions import QuestionSet


async def record(
    session: AsyncSession, conv_id: str, tags: closetags.CloseTags, *, now: float, timezone: str
) -> None:
    cells = tags.cells()
    if not cells:
        return
    queue = await repo.conversation_queue(session, conv_id)
    if queue is None:
        return
    day = stats.local_day(now, timezone).isoformat()
    for dimension, value in cells:
        await repo.count_close_tag(session, day=day, queue=queue, dimension=dimension, value=value)


def topic_ids(questions: QuestionSet) -> set[str]:
    topic = questions.get("topic")
    return set() if topic is None else {o.id for o in topic.options}


def vocabulary(questions: QuestionSet, lang: str = "en") -> dict[str, Any]:
    """What the console offers when closing: ``{"topics","outcomes","referrals"}``, each a list
    of ``{"id","label"}`` (labels in ``lang`` where the question set has it)."""
    topic = questions.get("topic")
    topics = []
    if topic is not None:
        fallback = questions.languages[0]
        topics = [
            {"id": o.id, "label": o.label.get(lang) or o.label[fallback]} for o in topic.options
        ]
    return {
        "topics": topics,
        "outcomes": [{"id": k, "label": v} for k, v in closetags.OUTCOMES.items()],
        "referrals": [{"id": k, "label": v} for k, v in closetags.REFERRALS.items()],
    }


async def export(
    session: AsyncSession,
    *,
    first: date | None = None,
    last: date | None = None,
    min_count: int = stats.MIN_COUNT,
) -> list[dict[str, Any]]:
    """Every cell between ``first`` and ``last``: ``{"day","queue","dimension","value","count"}``
    with ``count`` None when it is under ``min_count``."""
    rows = await repo.close_stat_cells(
        session,
        first_day=None if first is None else first.isoformat(),
        last_day=None if last is None else last.isoformat(),
    )
    return [
        {
            "day": r.day,
            "queue": r.queue,
            "dimension": r.dimension,
            "value": r.value,
            "count": r.count if r.count >= min_count else None,
        }
        for r in rows
    ]
