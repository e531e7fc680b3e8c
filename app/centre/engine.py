"""The centre's settings documents and their precedence, pure (issue 11 §3).

Three documents can be stored in the database and edited in the browser; each overrides its
file or setting while stored, and with none stored the house runs as its files say:

- ``hours``: the opening-hours file's JSON (``app/triage/setup.py``: timezone, weekly,
  exceptions, helplines), checked by ``setup.parse_opening_hours``; overrides
  ``VH_OPENING_HOURS_FILE`` (without it: always open).
- ``alerts``: ``{"max_wait_seconds", "max_queue", "urgent_grace_seconds"}``, the supervisors'
  alert thresholds; overrides ``VH_ALERT_*``.
- ``routing``: ``{"topics": {topic option id: skill queue or null}}``, which skill queue each
  topic of the triage question set routes to (null: the general queue); overrides the
  ``skill`` of the question set file's topic options. Question texts stay in the file. Topics
  the document does not name route as the file says; topics it names that the file no longer
  has are ignored (refused when the document is written).

``check`` refuses a bad document with the place of the first mistake (``InvalidDocument``);
``effective`` combines the files' ``Centre`` with whatever is stored; ``document`` writes a
``Centre``'s part back in the document's shape (the files' shape: what export writes).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import time
from typing import Any, Final, cast

from app.supervision.alerts import Thresholds
from app.triage import hours
from app.triage.questions import FIXED_OPTIONS, QuestionSet, is_option_id
from app.triage.setup import WEEKDAYS, InvalidSetup, TriageSetup, parse_opening_hours

log = logging.getLogger(__name__)

NAMES: Final = ("hours", "alerts", "routing")
#: Largest document accepted, as compact JSON (a year of exceptions fits many times over).
MAX_DOCUMENT_CHARS: Final = 64 * 1024
MAX_EXCEPTIONS: Final = 400
MAX_HELPLINES: Final = 20
MAX_INTERVALS_A_DAY: Final = 12
#: Bounds of the alert thresholds: (smallest, largest) of each.
ALERT_BOUNDS: Final = {
    "max_wait_seconds": (60.0, 24 * 3600.0),
    "max_queue": (0, 10_000),
    "urgent_grace_seconds": (0.0, 3600.0),
}
_PLACE = re.compile(r"^[\w.\[\]-]+$")


class InvalidDocument(ValueError):
    """A settings document that must not be stored: ``where`` is the place of the mistake
    (``weekly.mon``, ``helplines[1]``, ``topics.control``, ``max_queue``; ``""`` for the
    whole document), ``message`` what is wrong there."""

    def __init__(self, name: str, where: str, message: str) -> None:
        super().__init__(f"{name}: {where + ': ' if where else ''}{message}")
        self.name = name
        self.where = where
        self.message = message


@dataclass(frozen=True, slots=True)
class Centre:
    """Everything the running house reads of the centre's configuration."""

    setup: TriageSetup
    thresholds: Thresholds


def check(name: str, document: object, questions: QuestionSet) -> None:
    """Raise ``InvalidDocument`` unless ``document`` is a valid ``name`` document.

    ``questions`` is the question set file's (routing names its topics). Raises ``KeyError``
    for a name not in ``NAMES``.
    """
    checker = _CHECKS[name]
    if len(json.dumps(document, separators=(",", ":"))) > MAX_DOCUMENT_CHARS:
        raise InvalidDocument(name, "", f"at most {MAX_DOCUMENT_CHARS} characters of JSON")
    checker(document, questions)


def _check_hours(document: object, _questions: QuestionSet) -> None:
    try:
        parse_opening_hours(document)
    except InvalidSetup as exc:
        where, message = _placed(str(exc))
        raise InvalidDocument("hours", where, message) from None
    document = cast("dict[str, Any]", document)  # parse_opening_hours took it: an object
    for day, intervals in {**document["weekly"], **document.get("exceptions", {})}.items():
        if len(intervals) > MAX_INTERVALS_A_DAY:
            where = f"weekly.{day}" if day in WEEKDAYS else f"exceptions.{day}"
            raise InvalidDocument("hours", where, f"at most {MAX_INTERVALS_A_DAY} intervals")
    if len(document.get("exceptions", {})) > MAX_EXCEPTIONS:
        raise InvalidDocument("hours", "exceptions", f"at most {MAX_EXCEPTIONS} dates")
    if len(document.get("helplines", [])) > MAX_HELPLINES:
        raise InvalidDocument("hours", "helplines", f"at most {MAX_HELPLINES} helplines")


def _placed(message: str) -> tuple[str, str]:
    """``"weekly.mon: times are HH:MM"`` -> ``("weekly.mon", "times are HH:MM")``."""
    where, sep, rest = message.partition(": ")
    if sep and _PLACE.match(where):
        return where, rest
    return "", message


def _check_alerts(document: object, _questions: QuestionSet) -> None:
    if not isinstance(document, dict):
        raise InvalidDocument("alerts", "", f"an object with {', '.join(ALERT_BOUNDS)}")
    unknown = sorted(set(document) - set(ALERT_BOUNDS))
    if unknown:
        raise InvalidDocument("alerts", unknown[0], "not a threshold")
    for key, (low, high) in ALERT_BOUNDS.items():
        value = document.get(key)
        whole = isinstance(low, int)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (whole and not isinstance(value, int))
        ):
            kind = "a whole number" if whole else "a number"
            raise InvalidDocument("alerts", key, f"needs {kind} from {low:g} to {high:g}")
        if not low <= value <= high:
            raise InvalidDocument("alerts", key, f"from {low:g} to {high:g}")


def _check_routing(document: object, questions: QuestionSet) -> None:
    if not isinstance(document, dict) or set(document) != {"topics"}:
        raise InvalidDocument("routing", "", 'an object {"topics": {topic: skill or null}}')
    topic = questions.get("topic")
    if topic is None:
        raise InvalidDocument("routing", "topics", "the question set asks no topic question")
    routes = document["topics"]
    if not isinstance(routes, dict):
        raise InvalidDocument("routing", "topics", "an object of topic: skill or null")
    known = {o.id for o in topic.options}
    for topic_id, skill in routes.items():
        where = f"topics.{topic_id}"
        if topic_id not in known:
            raise InvalidDocument("routing", where, "not a topic of the question set")
        if skill is None:
            continue
        if not is_option_id(skill):
            raise InvalidDocument("routing", where, "a skill queue is 1-32 of a-z, 0-9 and _")
        if skill in FIXED_OPTIONS["kind"]:
            raise InvalidDocument("routing", where, f"{skill} is a kind of queue, not a skill")


_CHECKS = {"hours": _check_hours, "alerts": _check_alerts, "routing": _check_routing}


# ---------------------------------------------------------------------- precedence


def effective(base: Centre, stored: Mapping[str, object]) -> Centre:
    """``base`` (the files' and settings' centre) with each stored document in its place.

    ``stored`` maps names to documents (absent: none stored). A document that no longer
    passes ``check`` (edited by hand in the database) is logged and skipped: the file holds.
    """
    setup, thresholds = base.setup, base.thresholds
    for name in NAMES:
        if name not in stored:
            continue
        document = stored[name]
        try:
            check(name, document, base.setup.questions)
        except InvalidDocument as exc:
            log.error("stored settings ignored, the file holds: %s", exc)
            continue
        if name == "hours":
            schedule, helplines = parse_opening_hours(document)
            policy = replace(setup.policy, helplines=helplines)
            setup = replace(setup, schedule=schedule, policy=policy)
        elif name == "alerts":
            document = cast("dict[str, Any]", document)
            thresholds = Thresholds(
                max_wait=float(document["max_wait_seconds"]),
                max_queue=int(document["max_queue"]),
                urgent_grace=float(document["urgent_grace_seconds"]),
            )
        else:
            document = cast("dict[str, Any]", document)
            setup = replace(setup, questions=routed(setup.questions, document["topics"]))
    return Centre(setup, thresholds)


def routed(questions: QuestionSet, routes: Mapping[str, str | None]) -> QuestionSet:
    """``questions`` with each topic option named in ``routes`` routed to its skill queue."""
    topic = questions.get("topic")
    if topic is None:
        return questions
    options = tuple(replace(o, skill=routes[o.id]) if o.id in routes else o for o in topic.options)
    swapped = replace(topic, options=options)
    return replace(
        questions, questions=tuple(swapped if q.id == "topic" else q for q in questions.questions)
    )


# ---------------------------------------------------------------------- documents


def document(name: str, centre: Centre) -> dict[str, Any]:
    """``centre``'s ``name`` document, in the shape ``check`` takes (and the files have)."""
    if name == "hours":
        return hours_document(centre.setup.schedule, centre.setup.policy.helplines)
    if name == "alerts":
        t = centre.thresholds
        return {
            "max_wait_seconds": t.max_wait,
            "max_queue": t.max_queue,
            "urgent_grace_seconds": t.urgent_grace,
        }
    if name == "routing":
        topic = centre.setup.questions.get("topic")
        return {"topics": {} if topic is None else {o.id: o.skill for o in topic.options}}
    raise KeyError(name)


def _clock(at: time, *, end: bool) -> str:
    return "24:00" if end and at == time(0) else at.strftime("%H:%M")


def _pairs(intervals: tuple[hours.Interval, ...]) -> list[list[str]]:
    return [[_clock(i.start, end=False), _clock(i.end, end=True)] for i in intervals]


def hours_document(
    schedule: hours.Schedule, helplines: tuple[hours.Helpline, ...]
) -> dict[str, Any]:
    """The opening-hours file's JSON for ``schedule`` and ``helplines``."""
    return {
        "timezone": schedule.timezone,
        "weekly": {WEEKDAYS[d]: _pairs(v) for d, v in sorted(schedule.weekly.items())},
        "exceptions": {d.isoformat(): _pairs(v) for d, v in sorted(schedule.exceptions.items())},
        "helplines": [
            {"name": h.name, "phone": h.phone, "hours": h.hours, "url": h.url} for h in helplines
        ],
    }


def skills_offered(base: Centre, current: Centre, staff_skills: set[str]) -> list[str]:
    """The skill queues an admin may route a topic to: those the question set file knows,
    those routed to now, and those staff have (kinds of queue excluded), sorted."""
    found = set(base.setup.questions.skills()) | set(current.setup.questions.skills())
    found |= staff_skills
    return sorted(s for s in found if is_option_id(s) and s not in FIXED_OPTIONS["kind"])
