"""Close categories (issue 11): what a counsellor tags a chat with when closing it, pure.

Tags are never stored with the conversation: closing adds one to anonymous counts per local day,
queue, dimension and value (``close_stats``), exported only with small counts suppressed. The
topics are the triage question set's topic options (the counsellor may correct the young
person's choice); outcomes and referrals are fixed here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final

OUTCOMES: Final[Mapping[str, str]] = {
    "support_given": "Listened and supported",
    "advice_given": "Advice given",
    "safety_plan": "Safety plan made",
    "referred": "Referred onwards",
    "ended_early": "Ended before we got far",
    "other": "Other",
}
REFERRALS: Final[Mapping[str, str]] = {
    "social_services": "Social services",
    "health_care": "Health care",
    "police": "Police",
    "school": "School",
    "voluntary_organisation": "Voluntary organisation",
    "none": "None",
}
DIMENSIONS: Final = ("topic", "outcome", "referral")


class BadTags(ValueError):
    """Tags that name an unknown topic, outcome or referral, or mix ``none`` with others."""


@dataclass(frozen=True, slots=True)
class CloseTags:
    topic: str | None = None
    outcome: str | None = None
    referrals: tuple[str, ...] = ()

    def cells(self) -> list[tuple[str, str]]:
        """``(dimension, value)`` pairs to count once each; untagged dimensions are not
        counted (a chat closed without tags adds nothing)."""
        found = []
        if self.topic is not None:
            found.append(("topic", self.topic))
        if self.outcome is not None:
            found.append(("outcome", self.outcome))
        found += [("referral", r) for r in self.referrals]
        return found


def check(tags: CloseTags, topics: Collection[str]) -> CloseTags:
    """``tags`` if every value is known (``topics``: the question set's topic ids)."""
    if tags.topic is not None and tags.topic not in topics:
        raise BadTags(f"unknown topic {tags.topic!r}")
    if tags.outcome is not None and tags.outcome not in OUTCOMES:
        raise BadTags(f"unknown outcome {tags.outcome!r}")
    unknown = [r for r in tags.referrals if r not in REFERRALS]
    if unknown:
        raise BadTags(f"unknown referral {unknown[0]!r}")
    if "none" in tags.referrals and len(tags.referrals) > 1:
        raise BadTags("referral 'none' goes alone")
    return CloseTags(tags.topic, tags.outcome, tuple(sorted(set(tags.referrals))))
