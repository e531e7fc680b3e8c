"""A return code asked for just after a chat ended (issue 12 §3): the rule, free of I/O.

During a chat the page sends the wrap on the socket (``return_code``); once the chat has ended
the socket is gone, so the page that still holds the segment keys in memory sends the wraps of
every segment with its ticket to ``POST /api/youth/return-code``. Only an ended conversation,
only within ``late_return_code_seconds`` of its end, and only for the ticket's own conversation.
"""

from __future__ import annotations

from typing import Final

from app.types import ConversationStatus

#: The conversation statuses after which a late code may be asked for (a requeued or open chat
#: takes its code on the socket).
ENDED: Final = frozenset({"closed", "abandoned"})


def may_add_late_code(
    status: ConversationStatus, closed_at: float | None, now: float, window: float
) -> bool:
    """Whether a conversation in ``status``, ended at ``closed_at``, still takes a late code."""
    if status not in ENDED or closed_at is None:
        return False
    return 0 <= now - closed_at <= window
