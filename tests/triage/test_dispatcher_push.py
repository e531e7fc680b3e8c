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
    await d._push({1: _standing(1, 1)})
    await d._push({1: _standing(1, 2)})  # someone joined behind: not yet
    await d._push({1: _standing(1, 3)})
    assert told == [_standing(1, 1)]
    d._positions_wanted.clear()
    await asyncio.wait_for(d._positions_wanted.wait(), 1.0)  # the refresh asks for a pass
    await d._push({1: _standing(1, 3)})
    assert told[-1] == _standing(1, 3)
    new_estimate = Standing(Place(1, 3), waits.WaitRange(60.0, 120.0))
    await d._push({1: new_estimate})  # a new estimate: at once
    await d._push({2: _standing(1, 2)})  # ticket 1 no longer waits: told at once (None)
    assert told[-2:] == [new_estimate, None]
    await d.close()


async def test_far_back_moves_are_batched(monkeypatch: Any) -> None:
    monkeypatch.setattr(dispatcher_module, "WAITING_REFRESH", 60.0)
    d = Dispatcher(None, None, lambda: 0.0, setup=SETUP)  # type: ignore[arg-type]
    far: list[Standing | None] = []
    near: list[Standing | None] = []
    d.watch(1, far.append)
    d.watch(2, near.append)
    await d._push({1: _standing(30, 40), 2: _standing(21, 40)})
    await d._push({1: _standing(29, 39), 2: _standing(20, 39)})  # the head was paired
    assert far == [_standing(30, 40)]  # far back: the next refresh will say 29
    assert near == [_standing(21, 40), _standing(20, 39)]  # near the front: at once
    await d._push({2: _standing(20, 39)})  # ticket 1 was paired: told at once, however far back
    assert far[-1] is None
    await d.close()


async def test_standings_not_due_are_not_computed_yet_refreshed(monkeypatch: Any) -> None:
    monkeypatch.setattr(dispatcher_module, "WAITING_REFRESH", 0.05)
    d = Dispatcher(None, None, lambda: 0.0, setup=SETUP)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    told: list[Standing | None] = []
    d.watch(1, told.append)
    assert d._due(1, Place(30, 40), loop.time())  # new watcher
    await d._push({1: _standing(30, 40)})
    assert not d._due(1, Place(29, 39), loop.time())  # far back and just told
    assert d._due(1, Place(20, 39), loop.time())  # near the front
    assert not d._due(1, None, loop.time())  # no longer waiting: told by _push, not computed
    await d._push({}, still_waiting={1})  # still waits, not computed: no "None", a refresh is asked
    assert told == [_standing(30, 40)]
    d._positions_wanted.clear()
    await asyncio.wait_for(d._positions_wanted.wait(), 1.0)
    assert d._due(1, Place(29, 39), loop.time())
    await d.close()


async def test_the_fan_out_goes_in_slices_and_pairing_goes_first(monkeypatch: Any) -> None:
    """A pass over many watchers yields to the loop between slices, and waits for a pairing
    being announced before the next slice: pairing frames go ahead of the fan-out (P-4)."""
    monkeypatch.setattr(dispatcher_module, "FANOUT_SLICE", 10)
    d = Dispatcher(None, None, lambda: 0.0, setup=SETUP)  # type: ignore[arg-type]
    told: list[int] = []
    for ticket_id in range(1, 26):
        d.watch(ticket_id, lambda s, t=ticket_id: told.append(t))
    places = {t: _standing(t, 25) for t in range(1, 26)}
    announcing: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def pair_meanwhile() -> None:
        d.pairing(announcing)  # a socket starts telling its side of a pairing

    push = asyncio.create_task(d._push(places, budget=[30.0]))
    await asyncio.sleep(0)  # the first slice, then the push yields once
    assert told == list(range(1, 11))
    await pair_meanwhile()
    await asyncio.sleep(0.05)
    assert told == list(range(1, 11))  # held back while the pairing is being told
    d._watchers.pop(12)  # a watcher that went away meanwhile is skipped
    announcing.set_result(None)
    await asyncio.wait_for(push, 5.0)
    assert told == [t for t in range(1, 26) if t != 12]
    await d.close()


async def test_pairing_first_gives_up_after_its_budget() -> None:
    """An announcement that never ends cannot hold positions back for longer than the pass's
    budget."""
    d = Dispatcher(None, None, lambda: 0.0, setup=SETUP)  # type: ignore[arg-type]
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    d.pairing(never)
    budget = [0.05]
    await asyncio.wait_for(d._pairing_first(budget), 2.0)
    assert budget[0] <= 0
    never.cancel()
    await asyncio.sleep(0)
    assert not d._pairing  # a finished announcement is forgotten
    await d.close()
