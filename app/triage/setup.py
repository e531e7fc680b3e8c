"""The centre's triage configuration, loaded once at startup: questions, hours, helplines.

``VH_TRIAGE_QUESTIONS_FILE`` names the question set (``questions.py``); ``VH_OPENING_HOURS_FILE``
a JSON file of opening hours, dated exceptions and other helplines::

    {"timezone": "Europe/Stockholm",
     "weekly": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"], ["19:00", "22:00"]]},
     "exceptions": {"2026-12-24": [], "2026-12-31": [["10:00", "14:00"]]},
     "helplines": [{"name": "…", "phone": "…", "hours": "24/7", "url": "https://…"}]}

Days not in ``weekly`` are closed; an exception replaces its date's plan (``[]``: closed all day);
``"24:00"`` ends an interval at midnight. Without a file the house counts as always open, so out
of hours the honest answer is "no one on duty" (with 112 and the helplines) rather than "closed"
with the next opening time: a real centre sets the file. Raises ``InvalidSetup`` with the place
of the first mistake, so that a bad file stops the server at startup rather than at a join.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.config import Settings
from app.triage import hours, questions

WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS_OPEN: Final = hours.Schedule(
    weekly={d: (hours.Interval(time(0), time(0)),) for d in range(7)}
)


class InvalidSetup(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class TriageSetup:
    questions: questions.QuestionSet
    schedule: hours.Schedule
    policy: hours.EntryPolicy
    #: Refuse joins ("no one on duty") while no counsellor is on duty, even when open.
    refuse_when_unstaffed: bool


def load_setup(settings: Settings) -> TriageSetup:
    """Everything the triage needs from configuration. Raises ``InvalidSetup``."""
    try:
        question_set = questions.load_question_set(settings.triage_questions_file)
    except questions.InvalidQuestionSet as exc:
        raise InvalidSetup(f"VH_TRIAGE_QUESTIONS_FILE: {exc}") from None
    schedule: hours.Schedule = ALWAYS_OPEN
    helplines: tuple[hours.Helpline, ...] = ()
    if settings.opening_hours_file is not None:
        schedule, helplines = load_opening_hours(settings.opening_hours_file)
    return TriageSetup(
        questions=question_set,
        schedule=schedule,
        policy=hours.EntryPolicy(queue_cap=settings.queue_cap, helplines=helplines),
        refuse_when_unstaffed=settings.refuse_when_unstaffed,
    )


def load_opening_hours(path: Path) -> tuple[hours.Schedule, tuple[hours.Helpline, ...]]:
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidSetup(f"{path}: not a readable JSON file ({exc})") from None
    try:
        return parse_opening_hours(raw)
    except InvalidSetup as exc:
        raise InvalidSetup(f"{path}: {exc}") from None


def parse_opening_hours(raw: object) -> tuple[hours.Schedule, tuple[hours.Helpline, ...]]:
    """The schedule and helplines of a parsed opening-hours file (module docstring)."""
    if not isinstance(raw, dict):
        raise InvalidSetup("an object with weekly, exceptions, helplines")
    unknown = set(raw) - {"timezone", "weekly", "exceptions", "helplines"}
    if unknown:
        raise InvalidSetup(f"unknown keys: {', '.join(sorted(unknown))}")
    timezone = raw.get("timezone", hours.DEFAULT_TIMEZONE)
    try:
        ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSetup(f"timezone: not an IANA zone: {timezone!r}") from None
    weekly_raw = raw.get("weekly")
    if not isinstance(weekly_raw, dict) or set(weekly_raw) - set(WEEKDAYS):
        raise InvalidSetup(f"weekly: an object with keys among {', '.join(WEEKDAYS)}")
    weekly = {WEEKDAYS.index(d): _intervals(v, f"weekly.{d}") for d, v in weekly_raw.items()}
    exceptions_raw = raw.get("exceptions", {})
    if not isinstance(exceptions_raw, dict):
        raise InvalidSetup("exceptions: an object of YYYY-MM-DD dates")
    exceptions = {}
    for day, value in exceptions_raw.items():
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            raise InvalidSetup(f"exceptions: not a YYYY-MM-DD date: {day!r}") from None
        exceptions[parsed] = _intervals(value, f"exceptions.{day}")
    schedule = hours.Schedule(weekly=weekly, exceptions=exceptions, timezone=str(timezone))
    return schedule, tuple(_helpline(h, i) for i, h in enumerate(raw.get("helplines", [])))


def _clock(text: object, where: str) -> time:
    if text == "24:00":
        return time(0)
    try:
        if not isinstance(text, str) or len(text) != 5:
            raise ValueError
        return time.fromisoformat(text)
    except ValueError:
        raise InvalidSetup(f"{where}: times are HH:MM, got {text!r}") from None


def _intervals(raw: object, where: str) -> tuple[hours.Interval, ...]:
    if not isinstance(raw, list):
        raise InvalidSetup(f"{where}: a list of [start, end] pairs")
    found = []
    for pair in raw:
        if not isinstance(pair, list) or len(pair) != 2:
            raise InvalidSetup(f"{where}: a list of [start, end] pairs")
        try:
            found.append(hours.Interval(_clock(pair[0], where), _clock(pair[1], where)))
        except ValueError as exc:
            raise InvalidSetup(f"{where}: {exc}") from None
    return tuple(found)


def _helpline(raw: Any, index: int) -> hours.Helpline:
    where = f"helplines[{index}]"
    if not isinstance(raw, dict) or set(raw) - {"name", "phone", "hours", "url"}:
        raise InvalidSetup(f"{where}: an object with name, phone, hours, url")
    values = {k: raw.get(k, "") for k in ("name", "phone", "hours", "url")}
    if not all(isinstance(v, str) and len(v) <= 200 for v in values.values()):
        raise InvalidSetup(f"{where}: text fields of at most 200 characters")
    if not values["name"] or not values["phone"]:
        raise InvalidSetup(f"{where}: needs a name and a phone number")
    return hours.Helpline(**values)
