"""The queue's frames to a young person, pure: refusals with alternatives, and positions.

docs/PROTOCOL.md §2.1 and §5 are the prose form of these; keep them in step.
"""

from __future__ import annotations

from typing import Any, Final

from app.relay.protocol import dumps
from app.triage import hours, waits
from app.triage.engine import Place

#: Close code after a refusal: "try again later" (RFC 6455 §7.4.1).
REFUSAL_CLOSE: Final = 1013


def refusal(decision: hours.EntryDecision, message: str) -> str:
    """The error frame for a join the entry decision turned away: its code (``closed``,
    ``no_one_on_duty``, ``queue_full``), the emergency number, the other helplines, and the next
    opening (unix seconds) when closed. The caller then closes the socket with ``REFUSAL_CLOSE``.
    """
    emergency = decision.emergency_number
    if decision.emergency_first:
        text = f"if you are in danger now, call {emergency}; {message}"
    else:
        text = f"{message}; if you are in danger, call {emergency}"
    body: dict[str, Any] = {
        "type": "error",
        "code": decision.status.value,
        "message": text,
        "emergency": emergency,
        "helplines": [
            {"name": h.name, "phone": h.phone, "hours": h.hours, "url": h.url}
            for h in decision.alternatives
        ],
        "next_opening": (
            None if decision.next_opening is None else int(decision.next_opening.timestamp())
        ),
    }
    return dumps(body)


def estimate_json(estimate: waits.Estimate | None) -> dict[str, int] | None:
    if not isinstance(estimate, waits.WaitRange):
        return None
    return {"min_seconds": int(estimate.low), "max_seconds": int(estimate.high)}


def position(place: Place, estimate: waits.Estimate | None) -> str:
    """``{"type":"position","position","waiting","estimate":{"min_seconds","max_seconds"}|null}``;
    ``null`` when no estimate can be honest (no recent chats, or nobody on duty who can serve)."""
    return dumps(
        {
            "type": "position",
            "position": place.position,
            "waiting": place.waiting,
            "estimate": estimate_json(estimate),
        }
    )
