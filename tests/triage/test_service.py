"""The triage service on a migrated database (SQLite and PostgreSQL): joining with the question
set and the entry decision, routing by skill and organisation, aggregates, wait estimates."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import make_engine, make_sessionmaker, transaction
from app.kit.ids import new_id, new_token, token_digest
from app.models import Device, QueueStat, Staff, Ticket
from app.supervision import rollup, stats
from app.triage import hours, questions
from app.triage import repository as repo
from app.triage import service as triage_service
from app.triage.questions import Triage
from app.triage.setup import ALWAYS_OPEN, TriageSetup
from tests.conftest import Database

# Wednesday 25 November 2026, 10:00 in Stockholm.
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC).timestamp()
SETUP = TriageSetup(
    questions=questions.load_question_set(),
    schedule=ALWAYS_OPEN,
    policy=hours.EntryPolicy(
        queue_cap=100, helplines=(hours.Helpline("Kvinnofridslinjen", "020-50 50 50", "24/7"),)
    ),
    refuse_when_unstaffed=True,
)


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(database.settings())
    try:
        yield eng
    finally:
        await eng.dispose()


async def _staff(
    engine: AsyncEngine,
    *,
    on_duty: bool = True,
    skills: str = "youth,professional",
    organisation: str = "municipality",
    languages: str = "sv,en",
) -> str:
    staff_id, device_id = new_id(), new_id()
    async with transaction(make_sessionmaker(engine)) as session:
        session.add(
            Staff(
                id=staff_id,
                username=f"u{staff_id[:10].lower()}",
                alias="Sara",
                role="counsellor",
                password_hash="-",
                totp_secret="-",
                languages=languages,
                skills=skills,
                capacity=2,
                organisation=organisation,
                on_duty=on_duty,
                idle_since=0.0,
                created_at=0.0,
            )
        )
        await session.flush()
        session.add(
            Device(
                id=device_id,
                staff_id=staff_id,
                hpke_public_key="A" * 87,
                sig_public_key="A" * 87,
                not_after=2**40,
                certificate="A" * 86,
                created_at=0.0,
            )
        )
        await session.flush()
        staff = await session.get(Staff, staff_id)
        assert staff is not None
        staff.duty_device_id = device_id
    return staff_id


async def _join(
    engine: AsyncEngine, triage: Triage, *, setup: TriageSetup = SETUP, now: float = NOW
) -> Ticket:
    async with transaction(make_sessionmaker(engine)) as session:
        return await triage_service.join(
            session, triage, setup=setup, token_digest=token_digest(new_token()), now=now
        )


def _triage(**kw: object) -> Triage:
    base: dict[str, object] = {"language": "sv", "kind": "youth", "danger_now": False}
    return Triage(**{**base, **kw})  # type: ignore[arg-type]


# ---------------------------------------------------------------------- joining


async def test_join_stores_the_answers_as_routing_metadata(engine: AsyncEngine) -> None:
    await _staff(engine)
    ticket = await _join(engine, _triage(topic="forced_marriage", age_band="16_17"))
    async with make_sessionmaker(engine)() as session:
        stored = await session.get(Ticket, ticket.id)
    assert stored is not None
    assert (stored.topic, stored.age_band, stored.skill) == ("forced_marriage", "16_17", None)
    assert (stored.kind, stored.language, stored.urgent) == ("youth", "sv", False)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"topic": "weather"}, "topic must be one of"),
        ({"age_band": "40_50"}, "age_band must be one of"),
    ],
)
async def test_answers_outside_the_question_set_are_refused(
    engine: AsyncEngine, answers: dict[str, str], message: str
) -> None:
    await _staff(engine)
    with pytest.raises(triage_service.BadTriage, match=message):
        await _join(engine, _triage(**answers))
    async with make_sessionmaker(engine)() as session:
        assert await repo.count_waiting(session) == 0


async def test_a_configured_question_set_decides(engine: AsyncEngine) -> None:
    """Topic required and routed to a skill queue; age band not asked at all."""
    raw = json.loads(questions.DEFAULT_FILE.read_text("utf-8"))
    raw["questions"] = [q for q in raw["questions"] if q["id"] != "age_band"]
    topic = next(q for q in raw["questions"] if q["id"] == "topic")
    topic["required"] = True
    topic["options"][1]["skill"] = "police"  # threats_violence
    setup = dataclasses.replace(SETUP, questions=questions.parse_question_set(raw))
    await _staff(engine)
    with pytest.raises(triage_service.BadTriage, match="topic needs an answer"):
        await _join(engine, _triage(), setup=setup)
    with pytest.raises(triage_service.BadTriage, match="age_band is not asked"):
        await _join(engine, _triage(topic="control", age_band="16_17"), setup=setup)
    ticket = await _join(engine, _triage(topic="threats_violence"), setup=setup)
    assert ticket.skill == "police"


async def test_no_one_on_duty_is_told_with_the_alternatives(engine: AsyncEngine) -> None:
    await _staff(engine, on_duty=False)
    with pytest.raises(triage_service.EntryRefused) as refused:
        await _join(engine, _triage(danger_now=True))
    decision = refused.value.decision
    assert refused.value.code == "no_one_on_duty"
    assert decision.emergency_number == "112"
    assert [h.name for h in decision.alternatives] == ["Kvinnofridslinjen"]
    assert decision.emergency_first
    # When the centre lets people queue unstaffed, the same join is taken.
    await _join(engine, _triage(), setup=dataclasses.replace(SETUP, refuse_when_unstaffed=False))


async def test_closed_hours_name_the_next_opening(engine: AsyncEngine) -> None:
    await _staff(engine)
    evenings = hours.Schedule(weekly={d: (hours.Interval(time(18), time(21)),) for d in range(7)})
    with pytest.raises(triage_service.EntryRefused) as refused:
        await _join(engine, _triage(), setup=dataclasses.replace(SETUP, schedule=evenings))
    assert refused.value.code == "closed"
    assert refused.value.decision.next_opening == datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


async def test_a_full_queue_turns_joins_away(engine: AsyncEngine) -> None:
    small = dataclasses.replace(SETUP, policy=hours.EntryPolicy(queue_cap=3))
    await _staff(engine, languages="sv")
    for _ in range(3):
        await _join(engine, _triage(language="en"), setup=small)  # nobody speaks en: they wait
    with pytest.raises(triage_service.EntryRefused) as refused:
        await _join(engine, _triage(), setup=small)
    assert refused.value.code == "queue_full"


# ---------------------------------------------------------------------- routing


async def test_matching_routes_by_skill_queue_and_organisation(engine: AsyncEngine) -> None:
    general = await _staff(engine, skills="youth")
    police = await _staff(engine, skills="youth,police", organisation="police")
    sm = make_sessionmaker(engine)
    async with transaction(sm) as session:
        skilled = await repo.add_ticket(
            session,
            token_digest=token_digest(new_token()),
            kind="youth",
            language="sv",
            urgent=False,
            now=NOW,
            skill="police",
        )
        ruled = await repo.add_ticket(
            session,
            token_digest=token_digest(new_token()),
            kind="youth",
            language="sv",
            urgent=False,
            now=NOW + 1,
        )
        ruled.organisation = "police"
    async with transaction(sm) as session:
        waiting = {t.id: t for t in await repo.waiting_tickets(session, present_only=True)}
        assert waiting[skilled.id].skill == "police"
        assert waiting[ruled.id].organisation == "police"
        counsellors = {c.id: c for c in await repo.on_duty_counsellors(session)}
        assert counsellors[police].organisation == "police"
        paired = await triage_service.match(session, NOW + 2)
    taken = {p.ticket_id: p.staff_id for p in paired}
    assert taken == {skilled.id: police, ruled.id: police}
    assert general not in taken.values()


# ---------------------------------------------------------------------- aggregates and waits


async def test_roll_up_counts_each_finished_ticket_once(engine: AsyncEngine) -> None:
    await _staff(engine)
    sm = make_sessionmaker(engine)
    served = [await _join(engine, _triage(topic="control"), now=NOW + i) for i in range(2)]
    left = await _join(engine, _triage(topic="control"), now=NOW + 5)
    still = await _join(engine, _triage(topic="control"), now=NOW + 6)
    async with transaction(sm) as session:
        for i, ticket in enumerate(served):
            await repo.mark_assigned(session, ticket.id, NOW + 60 * (i + 1))
        await triage_service.leave(session, left.id, NOW + 30)
    async with transaction(sm) as session:
        assert await rollup.roll_up(session, now=NOW + 100) == 3
    async with transaction(sm) as session:
        assert await rollup.roll_up(session, now=NOW + 200) == 0  # nothing twice
        await triage_service.leave(session, still.id, NOW + 300)
    async with transaction(sm) as session:
        assert await rollup.roll_up(session, now=NOW + 400) == 1
    async with sm() as session:
        rows = list((await session.execute(select(QueueStat))).scalars())
        cells = await rollup.cells(session)
    assert len(rows) == 1
    assert (rows[0].day, rows[0].queue, rows[0].topic, rows[0].language) == (
        "2026-11-25",
        "youth",
        "control",
        "sv",
    )
    (cell,) = cells.values()
    assert (cell.joins, cell.served, cell.abandoned) == (4, 2, 2)
    assert cell.served_waits == (60.0, 119.0)
    (row,) = stats.export(cells)
    assert row.joins is None  # under 5: suppressed in any export
    assert row.served is None
    assert row.abandoned is None
    assert row.wait_percentiles is None


async def test_recent_durations_feed_the_estimate(engine: AsyncEngine) -> None:
    await _staff(engine)
    sm = make_sessionmaker(engine)
    for i, length in enumerate((600.0, 300.0)):
        await _join(engine, _triage(), now=NOW + i)
        async with transaction(sm) as session:
            (paired,) = await triage_service.match(session, NOW + 10 * i)
            await triage_service.close(session, paired.conv_id, by="C", now=NOW + 10 * i + length)
    async with sm() as session:
        # Oldest close first: the 300 s chat ended (at +310) before the 600 s one (at +600).
        assert await repo.recent_durations(session, 50) == [300.0, 600.0]
        assert await repo.recent_durations(session, 1) == [600.0]


async def test_staff_organisation_is_a_checked_routing_attribute(engine: AsyncEngine) -> None:
    from app.staff import service as staff_service

    async def add(username: str, organisation: str) -> str:
        async with transaction(make_sessionmaker(engine)) as session:
            created = await staff_service.add_staff(
                session,
                username=username,
                alias="Ali",
                password="correct horse battery staple 42",
                role="counsellor",
                languages=["sv"],
                skills=["youth", "police"],
                capacity=2,
                organisation=organisation,
                now=NOW,
                server_secret=bytes(32),  # no login in this test
            )
        return created.staff_id

    staff_id = await add("polis", "police")
    async with make_sessionmaker(engine)() as session:
        staff = await session.get(Staff, staff_id)
    assert staff is not None
    assert staff.organisation == "police"
    with pytest.raises(ValueError, match="organisation: one of"):
        await add("other", "school")


async def test_a_chat_whose_young_person_never_comes_back_is_abandoned_and_counted(
    engine: AsyncEngine,
) -> None:
    """Issue 9: past the grace the chat ends as abandoned, the seat is free, and the
    statistics count it once (``dropped``); a resume before the grace keeps it open."""
    await _staff(engine)
    sm = make_sessionmaker(engine)
    gone = await _join(engine, _triage(), now=NOW)
    back = await _join(engine, _triage(), now=NOW + 1)
    async with transaction(sm) as session:
        paired = {p.ticket_id: p for p in await triage_service.match(session, NOW + 10)}
        await triage_service.set_presence(session, gone.id, present=False, now=NOW + 20)
        await triage_service.set_presence(session, back.id, present=False, now=NOW + 20)
        await triage_service.set_presence(session, back.id, present=True, now=NOW + 30)
    async with transaction(sm) as session:
        assert await triage_service.abandon_gone_chats(session, grace=120, now=NOW + 139) == []
        ended = await triage_service.abandon_gone_chats(session, grace=120, now=NOW + 141)
    assert [conv for conv, _ in ended] == [paired[gone.id].conv_id]
    async with sm() as session:
        rows = (await session.execute(select(Ticket.id, Ticket.status))).all()
        statuses = {ticket_id: status for ticket_id, status in rows}
        counsellors = await repo.on_duty_counsellors(session)
    assert statuses == {gone.id: "ended", back.id: "assigned"}
    assert counsellors[0].load == 1  # the abandoned chat's seat is free
    async with transaction(sm) as session:
        await rollup.roll_up(session, now=NOW + 200)
    async with transaction(sm) as session:
        await rollup.roll_up(session, now=NOW + 300)  # nothing twice
    async with sm() as session:
        (cell,) = (await rollup.cells(session)).values()
    assert (cell.joins, cell.served, cell.dropped) == (2, 2, 1)
