"""The dispatcher's push policy: a new position or estimate at once, a longer queue behind at
most every ``WAITING_REFRESH`` seconds (PERFORMANCE.md P-4)."""

from __future__ import annotations

import asyncio
from typing import Any

from app.triage import dispatcher as dispatcher_module
from app.triage import waits
from app.triage.dispatcher import Dispatcher
from app.triage.engine import Place
from app.triage.positions import Standing
from tests.triage.test_service import SETUP

UNKNOWN = waits.Unknown("no_data")


def _standing(position: int, waiting: int) -> Standing:
    return Standing(Place(position, waiting), UNKNOWN)


async def test_waiting_alone_is_deferred_a_new_position_is_not(monkeypatch: Any) -> None:
    monkeypatch.setattr(dispatcher_module, "WAITING_REFRESH", 0.05)
    d = Dispatcher(None, None, lambda: 0.0, setup=SETUP)  # type: ignore[arg-type]
    told: list[Standing | None] = []
    d.watch(1, told.append)
    d._push({1: _standing(1, 1)})
    d._push({1: _standing(1, 2)})  # someone joined behind: not yet
    d._push({1: _standing(1, 3)})
    assert told == [_standing(1, 1)]
    d._positions_wanted.clear()
    await asyncio.wait_for(d._positions_wanted.wait(), 1.0)  # the refresh asks for a pass
    d._push({1: _standing(1, 3)})
    assert told[-1] == _standing(1, 3)
    d._push({1: Standing(Place(1, 3), waits.WaitRange(60.0, 120.0))})  # a new estimate: at once
    d._push({2: _standing(1, 2)})  # ticket 1 no longer waits: told at once (None)
    assert told[-2:] == [Standing(Place(1, 3), waits.WaitRange(60.0, 120.0)), None]
    await d.close()
