"""The dispatcher's push policy: near the front a new position or estimate at once; a longer
queue behind, or moves far back in the line, at most every ``WAITING_REFRESH`` seconds (P-4)."""

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


async def test_far_back_moves_are_batched(monkeypatch: Any) -> None:
    monkeypatch.setattr(dispatcher_module, "WAITING_REFRESH", 60.0)
    d = Dispatcher(None, None, lambda: 0.0, setup=SETUP)  # type: ignore[arg-type]
    far: list[Standing | None] = []
    near: list[Standing | None] = []
    d.watch(1, far.append)
    d.watch(2, near.append)
    d._push({1: _standing(30, 40), 2: _standing(21, 40)})
    d._push({1: _standing(29, 39), 2: _standing(20, 39)})  # the head was paired
    assert far == [_standing(30, 40)]  # far back: the next refresh will say 29
    assert near == [_standing(21, 40), _standing(20, 39)]  # near the front: at once
    d._push({2: _standing(20, 39)})  # ticket 1 was paired: told at once, however far back
    assert far[-1] is None
    await d.close()


async def test_standings_not_due_are_not_computed_yet_refreshed(monkeypatch: Any) -> None:
    monkeypatch.setattr(dispatcher_module, "WAITING_REFRESH", 0.05)
    d = Dispatcher(None, None, lambda: 0.0, setup=SETUP)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    told: list[Standing | None] = []
    d.watch(1, told.append)
    assert d._due(1, Place(30, 40), loop.time())  # new watcher
    d._push({1: _standing(30, 40)})
    assert not d._due(1, Place(29, 39), loop.time())  # far back and just told
    assert d._due(1, Place(20, 39), loop.time())  # near the front
    assert not d._due(1, None, loop.time())  # no longer waiting: told by _push, not computed
    d._push({}, still_waiting={1})  # still waits, not computed: no "None", a refresh is asked
    assert told == [_standing(30, 40)]
    d._positions_wanted.clear()
    await asyncio.wait_for(d._positions_wanted.wait(), 1.0)
    assert d._due(1, Place(29, 39), loop.time())
    await d.close()
