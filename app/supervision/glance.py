"""The queue at a glance for one counsellor (issue 11 §1), pure: a snapshot in, rows out.

Waiting tickets per queue and language, with the longest wait and the urgent ones, and how
many of them *this* counsellor could take: the routing engine's own rule
(``engine.can_serve``: the queue's kind and skill among their skills, the language among
theirs, the ticket's required organisation theirs), so the console never promises a chat the
matcher would not give. No content and no ticket id: queue, language, counts and times.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from app.triage import engine


@dataclass(frozen=True, slots=True)
class Profile:
    """What routing knows of a counsellor, on duty or not (their staff row)."""

    languages: frozenset[str]
    skills: frozenset[str]
    organisation: str
    on_duty: bool = False

    def as_counsellor(self) -> engine.OnDutyCounsellor:
        """The profile as the engine's counsellor (capacity aside: ``can_serve`` ignores it)."""
        return engine.OnDutyCounsellor(
            id="", languages=self.languages, skills=self.skills, organisation=self.organisation
        )


@dataclass(frozen=True, slots=True)
class Row:
    queue: str
    language: str
    waiting: int
    urgent: int
    yours: int  # tickets of the row this counsellor can serve
    unservable: int  # tickets nobody on duty can serve
    oldest_joined_at: float


def rows(
    tickets: Iterable[engine.WaitingTicket],
    on_duty: Sequence[engine.OnDutyCounsellor],
    profile: Profile | None,
) -> list[Row]:
    """One row per (queue, language) with tickets waiting, in queue then language order.

    ``profile`` None (an account routing knows nothing of) can serve nothing.
    """
    me = None if profile is None else profile.as_counsellor()
    groups: dict[tuple[engine.QueueKey, str], list[engine.WaitingTicket]] = {}
    for ticket in tickets:
        groups.setdefault((ticket.queue, ticket.language), []).append(ticket)
    found = []
    for (queue, language), group in sorted(
        groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])
    ):
        found.append(
            Row(
                queue=str(queue),
                language=language,
                waiting=len(group),
                urgent=sum(t.priority == engine.Priority.URGENT for t in group),
                yours=0 if me is None else sum(engine.can_serve(me, t) for t in group),
                unservable=sum(not engine.can_be_served(t, on_duty) for t in group),
                oldest_joined_at=min(t.joined_at for t in group),
            )
        )
    return found


def glance(
    found: Sequence[Row], profile: Profile | None, *, now: float, is_open: bool
) -> dict[str, Any]:
    """The ``queue`` frame's body: ``{"now","open","on_duty","total","rows"}``.

    Times are unix seconds: ``oldest_joined_at`` lets the page count waits on between frames;
    ``longest_wait_seconds`` is the wait at ``now``. ``total`` sums the rows (``longest`` over
    all of them, ``yours_longest`` over the rows this counsellor can serve something of).
    """
    yours = [r for r in found if r.yours]
    return {
        "now": round(now),
        "open": is_open,
        "on_duty": profile is not None and profile.on_duty,
        "total": {
            "waiting": sum(r.waiting for r in found),
            "urgent": sum(r.urgent for r in found),
            "yours": sum(r.yours for r in found),
            "longest_wait_seconds": _wait(found, now),
            "yours_longest_wait_seconds": _wait(yours, now),
        },
        "rows": [
            {
                "queue": r.queue,
                "language": r.language,
                "waiting": r.waiting,
                "urgent": r.urgent,
                "yours": r.yours,
                "can_serve": r.yours > 0,
                "unservable": r.unservable,
                "oldest_joined_at": round(r.oldest_joined_at),
                "longest_wait_seconds": round(max(0.0, now - r.oldest_joined_at)),
            }
            for r in found
        ],
    }


def _wait(found: Sequence[Row], now: float) -> int:
    if not found:
        return 0
    return round(max(0.0, now - min(r.oldest_joined_at for r in found)))
