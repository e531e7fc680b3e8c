"""``GcEpochs``: it freezes what is alive once a minute (after a young collection), thaws every
``thaw_every`` seconds, and does nothing in between. A fake clock and recorded calls; the real
``gc`` is not touched (freezing would change the whole test session's collections)."""

from __future__ import annotations

from app.kit.gcepochs import GcEpochs


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def epochs(self) -> GcEpochs:
        return GcEpochs(
            self.clock,
            freeze_every=60,
            thaw_every=900,
            collect_young=lambda: self.calls.append("collect"),
            freeze=lambda: self.calls.append("freeze"),
            unfreeze=lambda: self.calls.append("unfreeze"),
        )


def test_the_first_call_freezes_what_start_up_left_after_a_young_collection() -> None:
    rec = Recorder()
    epochs = rec.epochs()
    assert epochs.tick() == "freeze"
    assert rec.calls == ["collect", "freeze"]


def test_between_freezes_nothing_happens() -> None:
    rec = Recorder()
    epochs = rec.epochs()
    epochs.tick()
    for step in (5, 30, 59.9):
        rec.now = 1000 + step
        assert epochs.tick() is None
    rec.now = 1060
    assert epochs.tick() == "freeze"
    assert rec.calls == ["collect", "freeze", "collect", "freeze"]


def test_everything_is_thawed_every_fifteen_minutes_and_frozen_again_a_minute_later() -> None:
    rec = Recorder()
    epochs = rec.epochs()
    actions = []
    for second in range(0, 1000, 5):
        rec.now = 1000 + second
        actions.append((second, epochs.tick()))
    done = [(s, a) for s, a in actions if a is not None]
    freezes = [s for s, a in done if a == "freeze"]
    assert [s for s, a in done if a == "thaw"] == [900]
    assert freezes[:3] == [0, 60, 120]
    assert 960 in freezes  # a minute after the thaw, not at it
    assert all(s not in freezes for s in range(905, 960, 5))
