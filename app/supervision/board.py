"""The supervisors' live queue board, pure: a snapshot in, the board's JSON out (DESIGN.md §1).

Queue lengths, longest waits and the tickets nobody on duty can serve, per queue; counsellors on
duty with their load; the chats going on now with their durations; and whatever
``alerts.alerts`` finds, with who acknowledged it. Nothing about a young person beyond their
queue, language, urgency and times: no content, no conversation id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.supervision import alerts
from app.triage import engine


@dataclass(frozen=True, slots=True)
class ActiveChat:
    """A chat going on now, as the board shows it: who holds it and for how long, no content."""

    staff_id: str
    queue: str
    language: str
    urgent: bool
    opened_at: float
    waited_seconds: float  # from joining the queue to this pairing


@dataclass(frozen=True, slots=True)
class Ack:
    staff_id: str
    acked_at: float


def alert_key(kind: str, queue: str | None) -> str:
    """The key an acknowledgement is stored under: one per alert kind and queue."""
    return f"{kind}|{queue or ''}"


def board(
    snapshot: alerts.Snapshot,
    aliases: Mapping[str, str],
    thresholds: alerts.Thresholds,
    chats: Sequence[ActiveChat] = (),
    acks: Mapping[str, Ack] | None = None,
) -> dict[str, Any]:
    """``{"open", "now", "queues", "on_duty", "chats", "alerts"}``, sorted stably.

    ``aliases`` maps staff ids to the alias shown (supervisors see aliases, as young people
    do; usernames stay on the admin side). Times are unix seconds, so that a page can count
    durations on by itself between pushes.
    """
    now = snapshot.now
    acks = acks or {}
    queues = []
    # By kind, then skill with the general queue first (a None skill does not compare with text).
    by_queue = engine.queues(snapshot.tickets).items()
    for key, tickets in sorted(by_queue, key=lambda kv: (kv[0].kind, kv[0].skill or "")):
        oldest = min(t.joined_at for t in tickets)
        queues.append(
            {
                "queue": str(key),
                "waiting": len(tickets),
                "urgent": sum(t.priority == engine.Priority.URGENT for t in tickets),
                "unservable": sum(
                    not engine.can_be_served(t, snapshot.counsellors) for t in tickets
                ),
                "longest_wait_seconds": round(now - oldest),
                "oldest_joined_at": round(oldest),
                "languages": sorted({t.language for t in tickets}),
            }
        )
    on_duty = [
        {
            "alias": aliases.get(c.id, ""),
            "organisation": c.organisation,
            "languages": sorted(c.languages),
            "skills": sorted(c.skills),
            "load": c.load,
            "capacity": c.capacity,
            "idle_seconds": round(max(0.0, now - c.idle_since)) if c.load == 0 else 0,
            "status": _status(c.load, c.capacity),
        }
        for c in sorted(snapshot.counsellors, key=lambda c: (aliases.get(c.id, ""), c.id))
    ]
    going = [
        {
            "counsellor": aliases.get(c.staff_id, ""),
            "queue": c.queue,
            "language": c.language,
            "urgent": c.urgent,
            "opened_at": round(c.opened_at),
            "duration_seconds": round(max(0.0, now - c.opened_at)),
            "waited_seconds": round(max(0.0, c.waited_seconds)),
        }
        for c in sorted(chats, key=lambda c: (not c.urgent, c.opened_at, c.staff_id))
    ]
    found = []
    for a in alerts.alerts(snapshot, thresholds):
        queue = None if a.queue is None else str(a.queue)
        ack_key = alert_key(a.kind.value, queue)
        ack = acks.get(ack_key)
        found.append(
            {
                "kind": a.kind.value,
                "queue": queue,
                "value": round(a.value),
                "threshold": round(a.threshold),
                "key": ack_key,
                "acked_by": None if ack is None else aliases.get(ack.staff_id, ""),
                "acked_at": None if ack is None else round(ack.acked_at),
            }
        )
    return {
        "open": snapshot.is_open,
        "now": round(now),
        "queues": queues,
        "on_duty": on_duty,
        "chats": going,
        "alerts": found,
    }


def _status(load: int, capacity: int) -> str:
    """``free`` (no chat), ``busy`` (some, with room), ``full`` (at capacity)."""
    if load == 0:
        return "free"
    return "full" if load >= capacity else "busy"
