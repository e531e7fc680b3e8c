"""The triage questions: data, not code (issue 4 item 1; DESIGN.md §3.2).

A ``QuestionSet`` is loaded once at startup, from ``VH_TRIAGE_QUESTIONS_FILE`` (JSON) or the
default ``data/questions.json``, and serves two readers that must agree: the form
(``GET /api/triage/questions?lang=…``) and the check of a join's answers (``check_answers``).

The question ids are fixed, because each is a field of the join frame: ``language``, ``kind``,
``danger_now`` (required, always asked) and ``topic``, ``age_band`` (optional; a centre may leave
them out, make them required, or change their options). ``kind`` answers are ``youth`` and
``professional``; ``danger_now`` answers ``no`` and ``yes`` (a boolean on the wire). A ``topic``
option may name a ``skill``: such tickets wait in that skill queue (``youth/police`` …) instead of
the general one. The ``language`` options are what the form offers; the server accepts any
language code there, because counsellors' languages decide the routing. Every label exists in
every language of the set. Answers are option ids, never free text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from app.types import QueueKind

#: Longest option id a join may carry (the parser refuses longer ones before lookup).
ANSWER_ID_MAX: Final = 32


@dataclass(frozen=True, slots=True)
class Triage:
    """The join's triage answers: routing metadata only. ``topic`` and ``age_band`` are option
    ids of the configured question set (``app/triage/questions.py`` checks them), or ``None``."""

    language: str
    kind: QueueKind
    danger_now: bool
    topic: str | None = None
    age_band: str | None = None


DEFAULT_FILE: Final = Path(__file__).resolve().parent / "data" / "questions.json"
REQUIRED_IDS: Final = ("language", "kind", "danger_now")
OPTIONAL_IDS: Final = ("topic", "age_band")
FIXED_OPTIONS: Final = {"kind": ("youth", "professional"), "danger_now": ("no", "yes")}
RTL_LANGUAGES: Final = frozenset({"ar", "fa", "he", "ku", "ps", "ur"})


class InvalidQuestionSet(ValueError):
    """The configured question set is unusable; the message says where."""


class BadAnswer(ValueError):
    """A join's answers do not fit the question set; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class Option:
    id: str
    label: Mapping[str, str]
    skill: str | None = None  # topic options only: the skill queue such tickets wait in


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    required: bool
    label: Mapping[str, str]
    options: tuple[Option, ...]
    help: Mapping[str, str] = field(default_factory=dict)  # shown with the question

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


@dataclass(frozen=True, slots=True)
class QuestionSet:
    languages: tuple[str, ...]  # label languages; the first is the default
    questions: tuple[Question, ...]

    def get(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def offered_languages(self) -> tuple[str, ...]:
        """The languages the form offers young people (the ``language`` question's options)."""
        question = self.get("language")
        return self.languages if question is None else tuple(o.id for o in question.options)

    def skills(self) -> tuple[str, ...]:
        """The skill queues topic options route to (``police`` …), sorted."""
        topic = self.get("topic")
        found = {o.skill for o in topic.options if o.skill} if topic is not None else set()
        return tuple(sorted(found))

    def queue_names(self) -> tuple[str, ...]:
        """Every queue a join can wait in: each kind, and each kind with each skill."""
        kinds = FIXED_OPTIONS["kind"]
        return (*kinds, *(f"{k}/{skill}" for k in kinds for skill in self.skills()))


# ---------------------------------------------------------------------- loading


def load_question_set(path: Path | None = None) -> QuestionSet:
    """The question set of ``path`` (default: the shipped set). Raises ``InvalidQuestionSet``."""
    source = path or DEFAULT_FILE
    try:
        raw = json.loads(source.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidQuestionSet(f"{source}: not a readable JSON file ({exc})") from None
    return parse_question_set(raw)


def is_option_id(value: object) -> bool:
    """Whether ``value`` may be an option id or a skill queue name: 1-32 of a-z, 0-9 and _."""
    return (
        isinstance(value, str)
        and 1 <= len(value) <= ANSWER_ID_MAX
        and value.isascii()
        and value.replace("_", "").isalnum()
        and value.lower() == value
    )


def _labels(raw: object, languages: tuple[str, ...], where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or set(raw) != set(languages):
        raise InvalidQuestionSet(f"{where}: needs a label in each of {', '.join(languages)}")
    if not all(isinstance(v, str) and v.strip() for v in raw.values()):
        raise InvalidQuestionSet(f"{where}: labels are non-empty text")
    return {str(k): str(v) for k, v in raw.items()}


def _option(raw: object, question_id: str, languages: tuple[str, ...]) -> Option:
    if not isinstance(raw, dict) or not is_option_id(raw.get("id")):
        raise InvalidQuestionSet(f"{question_id}: each option needs an id of a-z, 0-9 and '_'")
    option_id = str(raw["id"])
    skill = raw.get("skill")
    if skill is not None and (question_id != "topic" or not is_option_id(skill)):
        raise InvalidQuestionSet(f"{question_id}.{option_id}: only topic options name a skill")
    label = _labels(raw.get("label"), languages, f"{question_id}.{option_id}")
    return Option(option_id, label, skill)


def _question(raw: object, languages: tuple[str, ...]) -> Question:
    if not isinstance(raw, dict):
        raise InvalidQuestionSet("each question is an object")
    question_id = raw.get("id")
    if question_id not in REQUIRED_IDS + OPTIONAL_IDS:
        known = ", ".join(REQUIRED_IDS + OPTIONAL_IDS)
        raise InvalidQuestionSet(f"question ids are {known}")
    required = raw.get("required", False)
    if not isinstance(required, bool) or (question_id in REQUIRED_IDS and not required):
        raise InvalidQuestionSet(f"{question_id}: required must be true or false (true here)")
    options_raw = raw.get("options")
    if not isinstance(options_raw, list) or not options_raw:
        raise InvalidQuestionSet(f"{question_id}: needs a list of options")
    options = tuple(_option(o, question_id, languages) for o in options_raw)
    ids = [o.id for o in options]
    if len(set(ids)) != len(ids):
        raise InvalidQuestionSet(f"{question_id}: option ids must differ")
    fixed = FIXED_OPTIONS.get(question_id)
    if fixed is not None and sorted(ids) != sorted(fixed):
        raise InvalidQuestionSet(f"{question_id}: the options are exactly {', '.join(fixed)}")
    help_raw = raw.get("help")
    help_text = {} if help_raw is None else _labels(help_raw, languages, f"{question_id}.help")
    label = _labels(raw.get("label"), languages, question_id)
    return Question(question_id, required, label, options, help_text)


def parse_question_set(raw: object) -> QuestionSet:
    """Check and build a question set from parsed JSON. Raises ``InvalidQuestionSet``."""
    if not isinstance(raw, dict):
        raise InvalidQuestionSet("a question set is an object with languages and questions")
    languages = raw.get("languages")
    if (
        not isinstance(languages, list)
        or not languages
        or not all(isinstance(x, str) and 2 <= len(x) <= 8 and x.isalpha() for x in languages)
        or len(set(languages)) != len(languages)
    ):
        raise InvalidQuestionSet("languages: a list of distinct language codes")
    langs = tuple(str(x) for x in languages)
    questions_raw = raw.get("questions")
    if not isinstance(questions_raw, list):
        raise InvalidQuestionSet("questions: a list")
    questions = tuple(_question(q, langs) for q in questions_raw)
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise InvalidQuestionSet("each question id appears once")
    missing = [i for i in REQUIRED_IDS if i not in ids]
    if missing:
        raise InvalidQuestionSet(f"the set must ask {', '.join(missing)}")
    return QuestionSet(langs, questions)


# ---------------------------------------------------------------------- answers


def check_answers(questions: QuestionSet, triage: Triage) -> str | None:
    """Check the optional answers of a join against the set; return the skill queue, if any.

    ``language``, ``kind`` and ``danger_now`` were checked by the frame parser. Raises
    ``BadAnswer`` for a missing required answer, an unknown option id, or an answer to a
    question the set does not ask.
    """
    skill: str | None = None
    for question_id, answer in (("topic", triage.topic), ("age_band", triage.age_band)):
        question = questions.get(question_id)
        if question is None:
            if answer is not None:
                raise BadAnswer(f"{question_id} is not asked here; send null")
            continue
        if answer is None:
            if question.required:
                raise BadAnswer(f"{question_id} needs an answer")
            continue
        option = question.option(answer)
        if option is None:
            raise BadAnswer(f"{question_id} must be one of the question's option ids")
        if question_id == "topic":
            skill = option.skill
    return skill


# ---------------------------------------------------------------------- the form


def localized(questions: QuestionSet, language: str) -> dict[str, Any]:
    """The set in one language, as ``GET /api/triage/questions`` answers it.

    Raises ``BadAnswer`` for a language the set has no labels in.
    """
    if language not in questions.languages:
        raise BadAnswer(f"lang must be one of {', '.join(questions.languages)}")
    return {
        "lang": language,
        "dir": "rtl" if language in RTL_LANGUAGES else "ltr",
        "questions": [
            {
                "id": q.id,
                "required": q.required,
                "label": q.label[language],
                **({"help": q.help[language]} if q.help else {}),
                "options": [{"id": o.id, "label": o.label[language]} for o in q.options],
            }
            for q in questions.questions
        ],
    }
