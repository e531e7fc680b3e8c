"""Run a coroutine at once, in the caller's frame, and hand it to a task only if it must wait.

Sending a WebSocket frame through uvicorn is a coroutine that almost never waits: it waits only
while the transport's buffer is over its high-water mark. Running such a coroutine as a task
costs a task, an event and a loop round trip per frame; ``start`` runs it to its first
suspension right away (Python 3.12's eager tasks do the same for whole tasks) and returns what
finishes it, for a task to await, only when it did suspend.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any


def start(coro: Coroutine[Any, Any, object]) -> Rest | None:
    """Step ``coro`` until it finishes (None) or suspends (its ``Rest``, to be awaited in a
    task). An exception it raises before suspending is raised here."""
    try:
        yielded = coro.send(None)
    except StopIteration:
        return None
    return Rest(coro, yielded)


class Rest:
    """The rest of a coroutine that suspended on ``yielded`` (the future it waits for)."""

    def __init__(self, coro: Coroutine[Any, Any, object], yielded: Any) -> None:
        self._coro = coro
        self._yielded = yielded

    def __await__(self) -> Generator[Any, None, None]:
        yielded = self._yielded
        while True:
            try:
                yield yielded  # the awaiting task waits for it, as it would have for the coroutine
            except BaseException as exc:  # thrown into the task (cancelled): on to the coroutine
                try:
                    yielded = self._coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    yielded = self._coro.send(None)
                except StopIteration:
                    return

    def close(self) -> None:
        """Abandon the coroutine (nobody will await it)."""
        self._coro.close()
