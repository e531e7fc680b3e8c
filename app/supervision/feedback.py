"""The after-chat feedback's rules (issue 12 §3), pure: who may answer "Did this chat help
you?", and the answers' suppressed totals for the statistics page and the CSV export.

The answers are stored only as counts per local day, queue kind and answer
(``feedback_counts``); the ticket keeps nothing but a flag that it has answered, so a second
answer is refused, and the flag goes with the ticket. A shown or exported count under
``stats.MIN_COUNT`` (0 included) is suppressed, as every other aggregate is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from app.supervision import stats

Answer = Literal["yes", "partly", "no"]
#: The answers in the order the page and the export show them, with the staff pages' labels.
ANSWERS: dict[str, str] = {"yes": "Yes", "partly": "Partly", "no": "No"}
KINDS = ("youth", "professional")

#: Conversation states in which the young person may answer: paired with a counsellor and
#: ended, or ending (the page may ask as the young person ends it, before the close lands).
ANSWERABLE = frozenset({"closed", "abandoned", "open"})


def may_answer(conversation_status: str | None) -> bool:
    """Whether a ticket whose conversation is in ``conversation_status`` (None: never paired)
    may answer. A conversation ``requeued`` waits for another counsellor: not yet."""
    return conversation_status in ANSWERABLE


def increments(answer: str) -> dict[str, int]:
    """What one answer adds to the cells of its day and kind: 1 to its own, 0 to the others.

    Every answer writes all of them, in the same order, so the rows an answer's transaction
    wrote (PostgreSQL's ``xmin``, which the ticket's flag shares) say that the ticket answered,
    never what; a new day's cells are created together, so their ids tell no order either.
    """
    return {a: int(a == answer) for a in ANSWERS}


@dataclass(frozen=True, slots=True)
class FeedbackCell:
    """One stored count (``feedback_counts``)."""

    day: date
    kind: str
    answer: str
    count: int


@dataclass(frozen=True, slots=True)
class AnswerCount:
    answer: str
    label: str
    count: int | None  # None: suppressed


def totals(
    cells: Iterable[FeedbackCell],
    first: date,
    last: date,
    *,
    kind: str | None = None,
    min_count: int = stats.MIN_COUNT,
) -> list[AnswerCount]:
    """Answers summed over the local days ``first``..``last`` (of one kind, or None: all), in
    ``ANSWERS`` order; a sum under ``min_count`` suppressed."""
    sums = dict.fromkeys(ANSWERS, 0)
    for cell in cells:
        if first <= cell.day <= last and (kind is None or cell.kind == kind):
            sums[cell.answer] = sums.get(cell.answer, 0) + cell.count
    return [
        AnswerCount(answer, ANSWERS.get(answer, answer), n if n >= min_count else None)
        for answer, n in sums.items()
    ]


def export_rows(
    cells: Iterable[FeedbackCell], *, min_count: int = stats.MIN_COUNT
) -> list[dict[str, object]]:
    """Every stored cell as ``{"day","kind","answer","count"}``, ``count`` None under
    ``min_count``, sorted by day, kind and answer order."""
    order = {a: i for i, a in enumerate(ANSWERS)}
    ordered = sorted(cells, key=lambda c: (c.day, c.kind, order.get(c.answer, len(order))))
    return [
        {
            "day": c.day.isoformat(),
            "kind": c.kind,
            "answer": c.answer,
            "count": c.count if c.count >= min_count else None,
        }
        for c in ordered
    ]


def kind_of_queue(queue: str | None) -> str | None:
    """The kind a queue filter of the statistics page belongs to (``youth/police`` → youth)."""
    return None if queue is None else queue.split("/", 1)[0]
