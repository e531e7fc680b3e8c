"""The triage question set (app/triage/questions.py), the join's answers, the opening-hours file."""

from __future__ import annotations

import copy
import json
import re
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest

from app.kit.errors import ProtocolError
from app.relay.protocol import YOUTH_TYPES, Join, parse_frame
from app.triage import hours, questions
from app.triage.questions import Triage
from app.triage.setup import InvalidSetup, parse_opening_hours

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = json.loads(questions.DEFAULT_FILE.read_text("utf-8"))


def _join(**triage: object) -> str:
    base = {"language": "sv", "kind": "youth", "danger_now": False}
    return json.dumps({"type": "join", "triage": {**base, **triage}})


def test_the_default_set_asks_the_issue_s_questions_in_three_languages() -> None:
    qs = questions.load_question_set()
    assert qs.languages == ("sv", "en", "ar")
    assert [q.id for q in qs.questions] == ["language", "kind", "topic", "danger_now", "age_band"]
    topic = qs.get("topic")
    assert topic is not None
    assert not topic.required
    assert [o.id for o in topic.options] == [
        "control",
        "threats_violence",
        "forced_marriage",
        "taken_abroad",
        "worried_other",
        "other",
    ]
    age = qs.get("age_band")
    assert age is not None
    assert not age.required
    danger = qs.get("danger_now")
    assert danger is not None
    assert all("112" in text for text in danger.help.values())


def test_localized_form() -> None:
    qs = questions.load_question_set()
    ar = questions.localized(qs, "ar")
    assert ar["dir"] == "rtl"
    assert questions.localized(qs, "sv")["dir"] == "ltr"
    kind = next(q for q in ar["questions"] if q["id"] == "kind")
    assert [o["id"] for o in kind["options"]] == ["youth", "professional"]
    with pytest.raises(questions.BadAnswer, match="lang must be one of sv, en, ar"):
        questions.localized(qs, "de")


def test_answers_parse_as_option_ids() -> None:
    frame = parse_frame(_join(topic="forced_marriage", age_band="16_17"), YOUTH_TYPES)
    assert frame == Join(Triage("sv", "youth", False, "forced_marriage", "16_17"))
    assert parse_frame(_join(topic=None), YOUTH_TYPES) == Join(Triage("sv", "youth", False))


@pytest.mark.parametrize(
    "bad",
    [{"topic": 3}, {"topic": ""}, {"topic": "Control"}, {"age_band": "x" * 33}, {"topic": "å"}],
)
def test_answers_of_the_wrong_shape_are_bad_triage(bad: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_frame(_join(**bad), YOUTH_TYPES)
    assert refused.value.code == "bad_triage"


def test_check_answers_uses_the_set() -> None:
    qs = questions.load_question_set()
    assert questions.check_answers(qs, Triage("sv", "youth", False, "control", "under_13")) is None
    with pytest.raises(questions.BadAnswer):
        questions.check_answers(qs, Triage("sv", "youth", False, "nope"))


def _broken(edit: Any) -> dict[str, Any]:
    raw = copy.deepcopy(DEFAULT)
    edit(raw)
    return raw


def _question(raw: dict[str, Any], qid: str) -> dict[str, Any]:
    found: dict[str, Any] = next(q for q in raw["questions"] if q["id"] == qid)
    return found


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["questions"].pop(0), "must ask language"),
        (lambda r: _question(r, "kind")["options"].pop(), "exactly youth, professional"),
        (lambda r: _question(r, "topic").update(id="name"), "question ids are"),
        (lambda r: _question(r, "topic")["label"].pop("ar"), "needs a label in each"),
        (lambda r: _question(r, "age_band")["options"][0].update(skill="x"), "only topic"),
        (lambda r: _question(r, "danger_now").update(required=False), "true here"),
        (
            lambda r: _question(r, "topic")["options"].append(_question(r, "topic")["options"][0]),
            "option ids must differ",
        ),
    ],
)
def test_a_bad_question_file_is_refused_with_its_place(edit: Any, message: str) -> None:
    with pytest.raises(questions.InvalidQuestionSet, match=re.escape(message)):
        questions.parse_question_set(_broken(edit))


def test_the_chat_form_offers_the_default_options() -> None:
    """The server-rendered form (progressive enhancement) matches the default question set."""
    html = (ROOT / "frontend" / "templates" / "chat.html").read_text("utf-8")
    qs = questions.load_question_set()
    for qid, name in (("topic", "topic"), ("age_band", "age_band")):
        select = re.search(rf'<select id="triage-{name}" name="{name}">(.*?)</select>', html, re.S)
        assert select is not None, name
        offered = re.findall(r'<option value="([^"]*)"', select.group(1))
        question = qs.get(qid)
        assert question is not None
        assert offered == ["", *(o.id for o in question.options)]


def test_opening_hours_file() -> None:
    schedule, helplines = parse_opening_hours(
        {
            "weekly": {"mon": [["09:00", "17:00"]], "sun": [["18:00", "24:00"]]},
            "exceptions": {"2026-12-24": []},
            "helplines": [{"name": "BRIS", "phone": "116 111", "hours": "24/7"}],
        }
    )
    assert schedule.timezone == hours.DEFAULT_TIMEZONE
    assert schedule.weekly[0] == (hours.Interval(time(9), time(17)),)
    assert schedule.weekly[6] == (hours.Interval(time(18), time(0)),)
    assert schedule.exceptions == {date(2026, 12, 24): ()}
    assert helplines == (hours.Helpline("BRIS", "116 111", "24/7"),)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"weekly": {"monday": []}}, "weekly"),
        ({"weekly": {"mon": [["9:00", "17:00"]]}}, "HH:MM"),
        ({"weekly": {"mon": [["17:00", "09:00"]]}}, "end after it starts"),
        ({"weekly": {}, "timezone": "Mars/Olympus"}, "IANA"),
        ({"weekly": {}, "exceptions": {"24/12": []}}, "YYYY-MM-DD"),
        ({"weekly": {}, "helplines": [{"name": "x"}]}, "name and a phone"),
        ({"weekly": {}, "hours": 1}, "unknown keys"),
    ],
)
def test_a_bad_opening_hours_file_is_refused(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidSetup, match=re.escape(message)):
        parse_opening_hours(raw)


def test_the_example_opening_hours_file_loads() -> None:
    schedule, helplines = parse_opening_hours(
        json.loads((ROOT / "docs" / "examples" / "opening-hours.json").read_text("utf-8"))
    )
    assert schedule.timezone == "Europe/Stockholm"
    assert schedule.intervals_on(date(2026, 12, 24)) == ()
    assert [h.phone for h in helplines] == ["116 111", "020-50 50 50"]
