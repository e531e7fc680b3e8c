"""Time as a dependency, so that rules can be tested with a fake clock."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


def system_clock() -> float:
    """Seconds since the epoch (wall clock; stored timestamps use this)."""
    return time.time()
