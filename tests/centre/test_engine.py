"""The centre's settings documents, pure: what is refused (and where), and precedence."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from app.centre import engine
from app.config import Settings
from app.supervision.alerts import Thresholds
from app.triage import hours
from app.triage.questions import Triage, check_answers
from app.triage.setup import load_setup

BASE = engine.Centre(load_setup(Settings(mode="test")), Thresholds(600.0, 10, 60.0))
QUESTIONS = BASE.setup.questions
HOURS: dict[str, Any] = {
    "timezone": "Europe/Stockholm",
    "weekly": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "12:00"], ["19:00", "24:00"]]},
    "exceptions": {"2026-12-24": [], "2026-12-31": [["10:00", "14:00"]]},
    "helplines": [{"name": "BRIS", "phone": "116 111", "hours": "24/7", "url": ""}],
}
ALERTS = {"max_wait_seconds": 300, "max_queue": 2, "urgent_grace_seconds": 30}


def where(name: str, document: object) -> tuple[str, str]:
    with pytest.raises(engine.InvalidDocument) as caught:
        engine.check(name, document, QUESTIONS)
    return caught.value.where, caught.value.message


def test_good_documents_pass() -> None:
    engine.check("hours", HOURS, QUESTIONS)
    engine.check("alerts", ALERTS, QUESTIONS)
    engine.check("routing", {"topics": {"threats_violence": "police", "other": None}}, QUESTIONS)
    engine.check("routing", {"topics": {}}, QUESTIONS)


@pytest.mark.parametrize(
    ("document", "place", "says"),
    [
        ({**HOURS, "weekly": {"mon": [["17:00", "09:00"]]}}, "weekly.mon", "end after it starts"),
        ({**HOURS, "weekly": {"mon": [["9", "17:00"]]}}, "weekly.mon", "HH:MM"),
        ({**HOURS, "weekly": {"monday": []}}, "weekly", "keys among"),
        ({**HOURS, "exceptions": {"24/12": []}}, "exceptions", "YYYY-MM-DD"),
        ({**HOURS, "exceptions": {"2026-12-24": [["x", "y"]]}}, "exceptions.2026-12-24", "HH"),
        ({**HOURS, "timezone": "Mars/Olympus"}, "timezone", "IANA"),
        ({**HOURS, "helplines": [{"name": "", "phone": "1"}]}, "helplines[0]", "name"),
        ({**HOURS, "colour": "red"}, "", "unknown keys: colour"),
        ([], "", "an object"),
        ({**HOURS, "weekly": {"mon": [["00:00", "01:00"]] * 13}}, "weekly.mon", "at most 12"),
        ({**HOURS, "helplines": HOURS["helplines"] * 21}, "helplines", "at most 20"),
    ],
)
def test_bad_hours_are_refused_with_the_place(document: object, place: str, says: str) -> None:
    found, message = where("hours", document)
    assert found == place
    assert says in message


@pytest.mark.parametrize(
    ("document", "place", "says"),
    [
        ({**ALERTS, "max_queue": -1}, "max_queue", "from 0 to 10000"),
        ({**ALERTS, "max_queue": 2.5}, "max_queue", "whole number"),
        ({**ALERTS, "max_queue": True}, "max_queue", "whole number"),
        ({**ALERTS, "max_wait_seconds": "600"}, "max_wait_seconds", "a number"),
        ({**ALERTS, "max_wait_seconds": 10}, "max_wait_seconds", "from 60"),
        ({"max_queue": 2, "max_wait_seconds": 60}, "urgent_grace_seconds", "a number"),
        ({**ALERTS, "loud": True}, "loud", "not a threshold"),
        ("ten", "", "an object"),
    ],
)
def test_bad_alerts_are_refused_with_the_place(document: object, place: str, says: str) -> None:
    found, message = where("alerts", document)
    assert found == place
    assert says in message


@pytest.mark.parametrize(
    ("document", "place", "says"),
    [
        ({"topics": {"weather": "police"}}, "topics.weather", "not a topic"),
        ({"topics": {"control": "Police!"}}, "topics.control", "1-32 of a-z"),
        ({"topics": {"control": "youth"}}, "topics.control", "kind of queue"),
        ({"topics": ["control"]}, "topics", "an object"),
        ({"control": "police"}, "", "topics"),
    ],
)
def test_bad_routing_is_refused_with_the_place(document: object, place: str, says: str) -> None:
    found, message = where("routing", document)
    assert found == place
    assert says in message


def test_an_unknown_name_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        engine.check("colours", {}, QUESTIONS)


def test_nothing_stored_is_the_files_centre() -> None:
    assert engine.effective(BASE, {}) == BASE


def test_stored_hours_override_the_file() -> None:
    centre = engine.effective(BASE, {"hours": HOURS})
    schedule = centre.setup.schedule
    assert schedule.weekly[1] == (
        hours.Interval(time(9), time(12)),
        hours.Interval(time(19), time(0)),
    )
    assert schedule.exceptions[date(2026, 12, 24)] == ()
    assert centre.setup.policy.helplines == (hours.Helpline("BRIS", "116 111", "24/7", ""),)
    assert centre.setup.policy.queue_cap == BASE.setup.policy.queue_cap  # not a document's
    christmas_eve_noon = datetime(2026, 12, 24, 11, tzinfo=UTC)
    assert hours.is_open(BASE.setup.schedule, christmas_eve_noon)  # no file: always open
    assert not hours.is_open(schedule, christmas_eve_noon)
    assert centre.setup.questions is BASE.setup.questions
    assert centre.thresholds == BASE.thresholds


def test_stored_alerts_override_the_settings() -> None:
    centre = engine.effective(BASE, {"alerts": ALERTS})
    assert centre.thresholds == Thresholds(max_wait=300.0, max_queue=2, urgent_grace=30.0)
    assert centre.setup == BASE.setup


def test_stored_routing_overrides_the_question_sets_skills() -> None:
    centre = engine.effective(BASE, {"routing": {"topics": {"threats_violence": "police"}}})
    triage = Triage(language="sv", kind="youth", danger_now=False, topic="threats_violence")
    assert check_answers(BASE.setup.questions, triage) is None
    assert check_answers(centre.setup.questions, triage) == "police"
    assert centre.setup.questions.skills() == ("police",)
    assert "youth/police" in centre.setup.questions.queue_names()
    # Back to the general queue, and topics it does not name keep the file's routing.
    back = engine.effective(centre, {"routing": {"topics": {"threats_violence": None}}})
    assert check_answers(back.setup.questions, triage) is None


def test_a_stored_document_that_no_longer_passes_is_skipped() -> None:
    broken = {**ALERTS, "max_queue": -5}
    assert engine.effective(BASE, {"alerts": broken, "hours": HOURS}).thresholds == BASE.thresholds


def test_documents_round_trip_in_the_files_shape() -> None:
    centre = engine.effective(
        BASE, {"hours": HOURS, "alerts": ALERTS, "routing": {"topics": {"other": "police"}}}
    )
    for name in engine.NAMES:
        document = engine.document(name, centre)
        engine.check(name, document, QUESTIONS)
        assert engine.effective(BASE, {name: document}) == engine.effective(
            BASE, {name: engine.document(name, centre)}
        )
    assert engine.document("hours", centre)["weekly"]["tue"] == [
        ["09:00", "12:00"],
        ["19:00", "24:00"],
    ]
    assert engine.document("alerts", centre) == {
        "max_wait_seconds": 300.0,
        "max_queue": 2,
        "urgent_grace_seconds": 30.0,
    }
    routes = engine.document("routing", centre)["topics"]
    assert routes["other"] == "police"
    assert routes["control"] is None
    always = engine.document("hours", BASE)
    assert always["weekly"]["sun"] == [["00:00", "24:00"]]


def test_the_skills_offered_are_the_files_the_routed_and_the_staffs() -> None:
    routed = engine.effective(BASE, {"routing": {"topics": {"other": "school"}}})
    offered = engine.skills_offered(BASE, routed, {"youth", "professional", "police", "Bad!"})
    assert offered == ["police", "school"]
