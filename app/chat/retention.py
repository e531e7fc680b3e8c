"""How long a conversation is kept, and when its bucket key goes (CRYPTO.md §6), pure.

A conversation is kept for its queue's retention after it ends, or after the young person's last
return visit if that is later; then the purge deletes its rows. Its wraps are sealed under the
bucket key of the week it expires in, and that key is destroyed when the week has ended and the
grace has passed, so the key never goes before the rows it opens (nothing is lost early) and
every copy of those rows is unreadable soon after (nothing outlives its retention for long).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from app.kit import weeks

DAY: Final = 86400.0
#: An open conversation's bucket is moved on once its key would go within this long.
OPEN_MARGIN: Final = 2 * DAY


def queue_name(kind: str, skill: str | None) -> str:
    """The queue's name as settings and statistics spell it (``youth``, ``youth/police``)."""
    return kind if skill is None else f"{kind}/{skill}"


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    days: int = 30
    by_queue: Mapping[str, int] = field(default_factory=dict)
    grace_days: int = 3

    def days_for(self, kind: str, skill: str | None) -> int:
        """The queue's own retention, else its kind's, else the default."""
        named = self.by_queue.get(queue_name(kind, skill))
        if named is None:
            named = self.by_queue.get(kind)
        return self.days if named is None else named

    def expires_at(
        self, *, kind: str, skill: str | None, ended_at: float, kept_until: float | None
    ) -> float:
        """When an ended conversation is purged: its retention after the end, or later if a
        return visit asked to keep it (``kept_until``)."""
        end = ended_at + self.days_for(kind, skill) * DAY
        return end if kept_until is None else max(end, kept_until)

    def bucket_for(self, expires_at: float) -> str:
        """The week whose key seals a conversation that expires at ``expires_at``."""
        return weeks.week_of(expires_at)

    def open_bucket(self, *, kind: str, skill: str | None, now: float) -> str:
        """The bucket of a conversation still open at ``now``: as if it ended now. It is moved
        on (``needs_moving``) while it stays open, and settled when it ends."""
        ahead = max(self.days_for(kind, skill) * DAY, 2 * OPEN_MARGIN)  # never moved at once
        return self.bucket_for(now + ahead)

    def destroy_after(self, week: str) -> float:
        """When ``week``'s bucket key is destroyed: its end plus the grace."""
        return weeks.week_end(week) + self.grace_days * DAY

    def needs_moving(self, *, bucket: str, expires_at: float | None, now: float) -> bool:
        """Whether a conversation's wraps must move to another bucket: an ended one whose
        expiry is outside its bucket's week (later, or a whole week earlier), or an open one
        whose bucket key would be destroyed soon."""
        if expires_at is None:
            return self.destroy_after(bucket) - now < OPEN_MARGIN
        return self.bucket_for(expires_at) != bucket
