"""The supervisors' live queue board, pure: a snapshot in, the board's JSON out (DESIGN.md §1).

Queue lengths and longest waits per queue, counsellors on duty with their load, and whatever
``alerts.alerts`` finds. Nothing about a young person beyond their queue, language and wait.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.supervision import alerts
from app.triage import engine


def board(
    snapshot: alerts.Snapshot,
    aliases: Mapping[str, str],
    thresholds: alerts.Thresholds,
) -> dict[str, Any]:
    """``{"open", "now", "queues": [...], "on_duty": [...], "alerts": [...]}``, sorted stably.

    ``aliases`` maps counsellor ids to the alias shown (supervisors see aliases, as young people
    do; usernames stay on the admin side).
    """
    now = snapshot.now
    queues = []
    for key, tickets in sorted(engine.queues(snapshot.tickets).items()):
        queues.append(
            {
                "queue": str(key),
                "waiting": len(tickets),
                "urgent": sum(t.priority == engine.Priority.URGENT for t in tickets),
                "longest_wait_seconds": round(max(now - t.joined_at for t in tickets)),
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
        }
        for c in sorted(snapshot.counsellors, key=lambda c: (aliases.get(c.id, ""), c.id))
    ]
    found = [
        {
            "kind": a.kind.value,
            "queue": None if a.queue is None else str(a.queue),
            "value": round(a.value),
            "threshold": round(a.threshold),
        }
        for a in alerts.alerts(snapshot, thresholds)
    ]
    return {
        "open": snapshot.is_open,
        "now": round(now),
        "queues": queues,
        "on_duty": on_duty,
        "alerts": found,
    }
