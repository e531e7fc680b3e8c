"""Full garbage collections that walk only the last seconds' objects, not every socket's.

CPython's full collection walks every tracked object. With 5,000 waiting young people that took
170 to 900 ms with the event loop stopped, every 4 s under joins and every 20 s without, and
every socket waited meanwhile (PERFORMANCE.md P-4: the pairing tail). Almost nothing it walks is
garbage: a full collection found a few hundred objects in cycles each time.

So the serving process works in epochs. Every ten seconds, after a young collection, what is
alive is frozen (``gc.freeze``: the permanent generation, which collections skip); a full
collection then walks only what came since. Reference counting frees frozen objects as ever;
only frozen objects in a garbage cycle wait, until every ``thaw_every`` seconds all is unfrozen
and the next full collection walks everything once: one full-length pause every 15 minutes
instead of one every few seconds, and cyclic garbage kept at most that long.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

from app.kit.clock import Clock

#: Seconds between two freezes, and between a thaw and the next freeze.
FREEZE_EVERY = 10.0
#: Seconds between two thaws (everything walked by the next full collection).
THAW_EVERY = 900.0


class GcEpochs:
    """Call it every few seconds (a dispatcher chore); it freezes or thaws when it is time."""

    def __init__(
        self,
        clock: Clock,
        *,
        freeze_every: float = FREEZE_EVERY,
        thaw_every: float = THAW_EVERY,
        collect_young: Callable[[], object] = lambda: gc.collect(1),
        freeze: Callable[[], None] = gc.freeze,
        unfreeze: Callable[[], None] = gc.unfreeze,
    ) -> None:
        self._clock = clock
        self._freeze_every = freeze_every
        self._thaw_every = thaw_every
        self._collect_young = collect_young
        self._freeze = freeze
        self._unfreeze = unfreeze
        now = clock()
        self._frozen_at = now - freeze_every  # the first call freezes what start-up left
        self._thawed_at = now

    def tick(self) -> str | None:
        """Freeze or thaw if it is time: ``"freeze"``, ``"thaw"`` or None."""
        now = self._clock()
        if now - self._thawed_at >= self._thaw_every:
            self._unfreeze()
            self._thawed_at = self._frozen_at = now
            return "thaw"
        if now - self._frozen_at >= self._freeze_every:
            self._collect_young()  # the young garbage goes first, not into the frozen
            self._freeze()
            self._frozen_at = now
            return "freeze"
        return None

    async def __call__(self) -> None:
        self.tick()
