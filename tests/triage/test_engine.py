"""The queue and routing engine, pure and exhaustively property-tested (DESIGN.md §4)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from app.triage.engine import (
    Assignment,
    OnDutyCounsellor,
    Priority,
    WaitingTicket,
    assign,
    can_serve,
    positions,
    queue_order,
)

KINDS = ["youth", "professional"]
LANGUAGES = ["sv", "en", "ar"]


def _tickets(rows: list[tuple[int, str, str, Priority, int]]) -> list[WaitingTicket]:
    return [WaitingTicket(*row[:4], joined_at=float(row[4])) for row in rows]


#: Waiting tickets with unique ids; few distinct join times, so that ties are common.
tickets = st.lists(
    st.tuples(
        st.integers(1, 10_000),
        st.sampled_from(KINDS),
        st.sampled_from(LANGUAGES),
        st.sampled_from(list(Priority)),
        st.integers(0, 20),
    ),
    unique_by=lambda row: row[0],
    max_size=25,
).map(_tickets)


def _counsellors(
    rows: list[tuple[frozenset[str], frozenset[str], int, int, int]],
) -> list[OnDutyCounsellor]:
    return [
        # load may exceed capacity (capacity lowered while chats were open)
        OnDutyCounsellor(f"c{i}", languages, skills, capacity, min(load, capacity + 1), idle)
        for i, (languages, skills, capacity, load, idle) in enumerate(rows)
    ]


counsellors = st.lists(
    st.tuples(
        st.frozensets(st.sampled_from(LANGUAGES), min_size=1),
        st.frozensets(st.sampled_from(KINDS), min_size=1),
        st.integers(1, 3),
        st.integers(0, 4),
        st.integers(0, 5),
    ),
    max_size=6,
).map(_counsellors)


def _loads_after(staff: list[OnDutyCounsellor], assignments: list[Assignment]) -> dict[str, int]:
    load = {c.id: c.load for c in staff}
    for a in assignments:
        load[a.counsellor_id] += 1
    return load


@settings(max_examples=300)
@given(tickets, counsellors)
def test_assign_invariants(waiting: list[WaitingTicket], staff: list[OnDutyCounsellor]) -> None:
    result = assign(waiting, staff)
    by_ticket = {t.id: t for t in waiting}
    by_staff = {c.id: c for c in staff}

    # Each ticket at most once, and only tickets and counsellors that exist.
    assigned_ids = [a.ticket_id for a in result]
    assert len(assigned_ids) == len(set(assigned_ids))
    assert set(assigned_ids) <= set(by_ticket)
    assert {a.counsellor_id for a in result} <= set(by_staff)
    # Only to someone who speaks the language and serves the queue.
    for a in result:
        assert can_serve(by_staff[a.counsellor_id], by_ticket[a.ticket_id])

    # No counsellor over capacity (one already over gets nothing more).
    load = _loads_after(staff, result)
    for c in staff:
        gained = load[c.id] - c.load
        assert load[c.id] <= c.capacity or gained == 0

    # No eligible ticket left waiting while an eligible counsellor has capacity.
    left = [t for t in waiting if t.id not in set(assigned_ids)]
    for t in left:
        for c in staff:
            assert not (can_serve(c, t) and load[c.id] < c.capacity), (t, c)

    # Nobody is passed over for a later ticket the same counsellor took: in particular an
    # urgent ticket never waits while a normal one of its queue is served by who could serve it.
    for a in result:
        taken = by_ticket[a.ticket_id]
        for t in left:
            if can_serve(by_staff[a.counsellor_id], t):
                assert queue_order(taken) < queue_order(t), (taken, t)
                assert not (t.priority > taken.priority and t.kind == taken.kind)


@given(tickets, counsellors)
def test_assign_is_deterministic_and_ignores_input_order(
    waiting: list[WaitingTicket], staff: list[OnDutyCounsellor]
) -> None:
    result = assign(waiting, staff)
    assert assign(list(reversed(waiting)), list(reversed(staff))) == result
    assert assign(waiting, staff) == result


@given(tickets)
def test_nobody_on_duty_assigns_nothing(waiting: list[WaitingTicket]) -> None:
    assert assign(waiting, []) == []


@settings(max_examples=300)
@given(tickets)
def test_positions_are_a_permutation_per_queue_with_urgent_first(
    waiting: list[WaitingTicket],
) -> None:
    places = positions(waiting)
    assert set(places) == {t.id for t in waiting}
    for kind in KINDS:
        queue = [t for t in waiting if t.kind == kind]
        assert sorted(places[t.id].position for t in queue) == list(range(1, len(queue) + 1))
        assert all(places[t.id].waiting == len(queue) for t in queue)
        for urgent in (t for t in queue if t.priority == Priority.URGENT):
            for normal in (t for t in queue if t.priority == Priority.NORMAL):
                assert places[urgent.id].position < places[normal.id].position
        # Within a priority class, longer wait first.
        for a in queue:
            for b in queue:
                if a.priority == b.priority and a.joined_at < b.joined_at:
                    assert places[a.id].position < places[b.id].position


def test_least_loaded_then_longest_idle_is_chosen() -> None:
    ticket = WaitingTicket(1, "youth", "sv", Priority.NORMAL, 0.0)

    def counsellor(cid: str, load: int, idle_since: float) -> OnDutyCounsellor:
        return OnDutyCounsellor(cid, frozenset({"sv"}), frozenset({"youth"}), 2, load, idle_since)

    assert assign([ticket], [counsellor("a", 1, 0.0), counsellor("b", 0, 9.0)]) == [
        Assignment(1, "b")
    ]
    assert assign([ticket], [counsellor("a", 0, 5.0), counsellor("b", 0, 2.0)]) == [
        Assignment(1, "b")
    ]


# ---------------------------------------------------------------------- purity

ROOT = Path(__file__).resolve().parents[2]
IO_LIBRARIES = {"fastapi", "sqlalchemy", "asyncio", "websockets", "time", "starlette"}


def _imports(module: str) -> set[str]:
    spec = importlib.util.find_spec(module)
    assert spec is not None
    assert spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):  # anywhere in the module, not only at the top
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            names.add("__import__")
    return names


def _closure(module: str) -> dict[str, set[str]]:
    """The module and every ``app`` module it imports, transitively, with their imports."""
    seen: dict[str, set[str]] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen[name] = _imports(name)
        todo += [n for n in seen[name] if n == "app" or n.startswith("app.")]
    return seen


def test_pure_modules_import_no_io() -> None:
    for module in ("app.triage.engine", "app.chat.protocol"):
        for name, imports in _closure(module).items():
            roots = {i.split(".")[0] for i in imports}
            assert not roots & IO_LIBRARIES, (name, roots & IO_LIBRARIES)
            assert "__import__" not in imports, name
