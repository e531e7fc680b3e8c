"""The after-chat feedback's pure rules: who may answer, and suppressed totals and exports."""

from __future__ import annotations

from datetime import date

from app.supervision import feedback
from app.supervision.feedback import FeedbackCell

D1, D2, D3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)


def test_only_a_chat_with_a_counsellor_may_answer() -> None:
    for status in ("closed", "abandoned", "open"):
        assert feedback.may_answer(status), status
    for status in (None, "requeued", "anything"):
        assert not feedback.may_answer(status), status


def test_an_answer_writes_every_cell_of_its_day() -> None:
    assert feedback.increments("partly") == {"yes": 0, "partly": 1, "no": 0}
    assert list(feedback.increments("no")) == list(feedback.ANSWERS)


def test_totals_are_summed_then_suppressed_under_five() -> None:
    cells = [
        FeedbackCell(D1, "youth", "yes", 3),
        FeedbackCell(D2, "youth", "yes", 2),
        FeedbackCell(D2, "professional", "yes", 4),
        FeedbackCell(D2, "youth", "no", 4),
        FeedbackCell(D3, "youth", "partly", 9),
    ]
    shown = {a.answer: a.count for a in feedback.totals(cells, D1, D2)}
    assert shown == {"yes": 9, "partly": None, "no": None}  # 0 is suppressed too
    shown = {a.answer: a.count for a in feedback.totals(cells, D1, D2, kind="youth")}
    assert shown == {"yes": 5, "partly": None, "no": None}
    shown = {a.answer: a.count for a in feedback.totals(cells, D2, D2, kind="youth")}
    assert shown == {"yes": None, "partly": None, "no": None}
    labels = [a.label for a in feedback.totals([], D1, D1)]
    assert labels == ["Yes", "Partly", "No"]


def test_the_export_suppresses_each_cell_and_keeps_a_stable_order() -> None:
    cells = [
        FeedbackCell(D2, "youth", "no", 7),
        FeedbackCell(D2, "youth", "yes", 1),
        FeedbackCell(D1, "youth", "partly", 5),
    ]
    assert feedback.export_rows(cells) == [
        {"day": "2026-11-01", "kind": "youth", "answer": "partly", "count": 5},
        {"day": "2026-11-02", "kind": "youth", "answer": "yes", "count": None},
        {"day": "2026-11-02", "kind": "youth", "answer": "no", "count": 7},
    ]


def test_a_queue_filter_keeps_its_kind() -> None:
    assert feedback.kind_of_queue(None) is None
    assert feedback.kind_of_queue("youth/police") == "youth"
    assert feedback.kind_of_queue("professional") == "professional"
