"""Rate limiting primitives, pure: the caller passes the time."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class SlidingWindow:
    """At most ``limit`` events in any ``window`` seconds.

    ``hit(now)`` records an event and returns True when it is within the limit. An event over the
    limit is not recorded, so a client that keeps trying gets in again once old events age out.
    """

    limit: int
    window: float
    _events: deque[float] = field(default_factory=deque)

    def hit(self, now: float) -> bool:
        self._prune(now)
        if len(self._events) >= self.limit:
            return False
        self._events.append(now)
        return True

    def refund(self) -> None:
        """Forget the latest recorded event (one that turned out not to count)."""
        if self._events:
            self._events.pop()

    def retry_after(self, now: float) -> float:
        """Seconds until the next event would be allowed (0 when one is allowed now)."""
        self._prune(now)
        if len(self._events) < self.limit:
            return 0.0
        return max(0.0, self._events[0] + self.window - now)

    def _prune(self, now: float) -> None:
        while self._events and self._events[0] <= now - self.window:
            self._events.popleft()


@dataclass
class KeyedWindows:
    """Sliding windows per key (e.g. a keyed hash of a client bucket), bounded in memory."""

    limit: int
    window: float
    max_keys: int = 100_000
    _windows: dict[str, SlidingWindow] = field(default_factory=dict)

    def hit(self, key: str, now: float) -> bool:
        win = self._windows.get(key)
        if win is None:
            if len(self._windows) >= self.max_keys:
                self._evict(now)
            win = self._windows[key] = SlidingWindow(self.limit, self.window)
        return win.hit(now)

    def refund(self, key: str) -> None:
        """Forget ``key``'s latest recorded hit: the caller counts only events that took
        effect (a join that entered the queue), so one that did not is given back."""
        win = self._windows.get(key)
        if win is not None:
            win.refund()

    def retry_after(self, key: str, now: float) -> float:
        win = self._windows.get(key)
        return 0.0 if win is None else win.retry_after(now)

    def _evict(self, now: float) -> None:
        for key in [k for k, w in self._windows.items() if w.retry_after(now) == 0.0]:
            del self._windows[key]
        if len(self._windows) >= self.max_keys:  # still full: forget the oldest half
            for key in list(self._windows)[: self.max_keys // 2]:
                del self._windows[key]


class KeyedSlots:
    """At most ``limit`` holders at once per key (open sockets per client bucket), in memory.

    ``take`` claims a slot and says whether it got one; each successful ``take`` is paired with
    one ``release``. Keys without holders are forgotten, so the map stays as small as the
    number of keys in use.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: dict[str, int] = {}

    def take(self, key: str) -> bool:
        held = self._held.get(key, 0)
        if held >= self.limit:
            return False
        self._held[key] = held + 1
        return True

    def release(self, key: str) -> None:
        held = self._held.get(key, 0) - 1
        if held > 0:
            self._held[key] = held
        else:
            self._held.pop(key, None)

    def held(self, key: str) -> int:
        return self._held.get(key, 0)
