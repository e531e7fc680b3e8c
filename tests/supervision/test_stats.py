"""Anonymous aggregates and their suppressed export (app/supervision/stats.py)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.supervision.stats import (
    MIN_COUNT,
    CellKey,
    Outcome,
    Visit,
    aggregate,
    export,
    percentile,
)

# 2026-11-25 23:30 UTC is already 26 November in Stockholm (UTC+1).
LATE = 1795649400.0


def test_days_are_local_and_cells_split_by_queue_topic_language() -> None:
    visits = [
        Visit(LATE, "youth", "threats", "sv", Outcome.SERVED, 60.0),
        Visit(LATE, "youth", None, "sv", Outcome.ABANDONED, 30.0),
        Visit(LATE, "youth", None, "ar", Outcome.OTHER),
    ]
    cells = aggregate(visits)
    assert set(cells) == {
        CellKey(date(2026, 11, 26), "youth", "threats", "sv"),
        CellKey(date(2026, 11, 26), "youth", "", "sv"),
        CellKey(date(2026, 11, 26), "youth", "", "ar"),
    }


def test_small_cells_are_suppressed_in_exports() -> None:
    served = [Visit(LATE, "youth", None, "sv", Outcome.SERVED, float(w)) for w in range(10)]
    abandoned = [Visit(LATE, "youth", None, "sv", Outcome.ABANDONED, 1.0)] * 2
    (row,) = export(aggregate(served + abandoned))
    assert row.joins == 12
    # Abandoned (2) is suppressed, so served is too: joins minus one would reveal the other.
    assert (row.served, row.abandoned) == (None, None)
    assert row.wait_percentiles == {50: 4.0, 90: 8.0}
    (few,) = export(aggregate(served[:4]))
    assert (few.joins, few.served, few.wait_percentiles) == (None, None, None)


def test_percentile_nearest_rank() -> None:
    assert percentile((1.0, 2.0, 3.0, 4.0), 50) == 2.0
    assert percentile((1.0,), 90) == 1.0
    with pytest.raises(ValueError, match="no values"):
        percentile((), 50)


visits = st.lists(
    st.builds(
        Visit,
        joined_at=st.floats(1.7e9, 1.7e9 + 3 * 86400, allow_nan=False),
        queue=st.sampled_from(["youth", "professional"]),
        topic=st.sampled_from([None, "threats", "marriage"]),
        language=st.sampled_from(["sv", "en"]),
        outcome=st.sampled_from(list(Outcome)),
        wait=st.one_of(st.none(), st.floats(0, 3600, allow_nan=False)),
    ),
    max_size=80,
)


@settings(max_examples=150)
@given(visits)
def test_aggregates_add_up_and_exports_never_show_a_small_count(recorded: list[Visit]) -> None:
    cells = aggregate(recorded)
    assert sum(c.joins for c in cells.values()) == len(recorded)
    assert sum(c.served for c in cells.values()) == sum(
        v.outcome is Outcome.SERVED for v in recorded
    )
    for cell in cells.values():
        assert cell.joins >= cell.served + cell.abandoned
    rows = export(cells)
    assert [r.key for r in rows] == sorted(cells)
    for row in rows:
        cell = cells[row.key]
        for shown, true in ((row.joins, cell.joins), (row.served, cell.served)):
            assert shown is None or (shown == true and shown >= MIN_COUNT)
        assert row.abandoned is None or row.abandoned == cell.abandoned >= MIN_COUNT
        assert (row.served is None) == (row.abandoned is None)
        if row.wait_percentiles is not None:
            assert len(cell.served_waits) >= MIN_COUNT
            assert row.wait_percentiles[50] <= row.wait_percentiles[90]
