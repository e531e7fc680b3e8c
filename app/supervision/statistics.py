"""The statistics page (``/staff/stats``): today's figures and a range of days per day, close
tags per value, the after-chat feedback for today and the last 30 days, read from the anonymous
aggregates and drawn as SVG (``charts``). Reads only; the roll-up chore adds finished tickets
about once a minute (``rollup.ROLL_UP_INTERVAL``); feedback is counted when it is given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from app.supervision import charts, closetags, closing, exports, feedback, report, rollup, stats
from app.supervision import repository as repo
from app.triage.questions import QuestionSet


@dataclass(frozen=True, slots=True)
class StatsView:
    today: date
    first: date
    last: date
    queue: str | None
    queues: list[str]
    within_minutes: float
    now: report.Figures
    days: list[tuple[date, report.Figures]]
    tags: dict[str, list[report.TagCount]]  # topic | outcome | referral
    #: "Did this chat help you?" answers today and over the 30 days up to today (of the queue
    #: filter's kind, or all), suppressed as the export is.
    feedback_today: list[feedback.AnswerCount]
    feedback_recent: list[feedback.AnswerCount]
    feedback_since: date


async def load(
    session: AsyncSession,
    questions: QuestionSet,
    *,
    today: date,
    first: date,
    last: date,
    queue: str | None,
    within_minutes: float,
) -> StatsView:
    """The figures for ``today`` and for ``first``..``last`` (checked by the caller with
    ``report.check_range``), of one queue or (None) all."""
    within = within_minutes * 60
    cells = await rollup.cells(session, first=min(first, today), last=max(last, today))
    rows = await repo.close_stat_cells(
        session, first_day=first.isoformat(), last_day=last.isoformat()
    )
    tag_cells = [
        report.TagCell(date.fromisoformat(r.day), r.queue, r.dimension, r.value, r.count)
        for r in rows
    ]
    since, _ = report.default_range(today)
    answers = await exports.feedback_cells(session, first=since, last=today)
    kind = feedback.kind_of_queue(queue)
    vocabulary = closing.vocabulary(questions)
    words = {
        "topic": [(t["id"], t["label"]) for t in vocabulary["topics"]],
        "outcome": list(closetags.OUTCOMES.items()),
        "referral": list(closetags.REFERRALS.items()),
    }
    return StatsView(
        today=today,
        first=first,
        last=last,
        queue=queue,
        queues=report.queues(cells, tag_cells),
        within_minutes=within_minutes,
        now=report.day_figures(cells, today, queue=queue, within_seconds=within),
        days=report.daily(cells, first, last, queue=queue, within_seconds=within),
        tags={
            d: report.tag_totals(tag_cells, d, words[d], queue=queue) for d in closetags.DIMENSIONS
        },
        feedback_today=feedback.totals(answers, today, today, kind=kind),
        feedback_recent=feedback.totals(answers, since, today, kind=kind),
        feedback_since=since,
    )


def choose_range(first: str | None, last: str | None, today: date) -> tuple[date, date]:
    """The page's range from its ``from``/``to`` fields (``YYYY-MM-DD``; either may be empty:
    the last 30 days up to ``to``, or 30 days from ``from``). Raises ``report.BadRange``."""
    try:
        first_day = date.fromisoformat(first) if first else None
        last_day = date.fromisoformat(last) if last else None
    except ValueError:
        raise report.BadRange("a day is written YYYY-MM-DD") from None
    span = timedelta(days=report.DEFAULT_DAYS - 1)
    if first_day is None and last_day is None:
        first_day, last_day = report.default_range(today)
    elif first_day is None:
        assert last_day is not None  # noqa: S101 - the branch above
        first_day = last_day - span
    elif last_day is None:
        last_day = first_day + span
    return report.check_range(first_day, last_day)


def duration(seconds: float) -> str:
    """``45 s``, ``2 min 05 s``, ``1 h 02 min``."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


FEW_SERVED = f"fewer than {stats.MIN_COUNT} served"


def _wait_top(waits: list[float | None]) -> float:
    """The waits axis' top in seconds: whole nice minutes from a minute on (0, 2 min 30 s,
    5 min), else nice seconds."""
    longest = max((w for w in waits if w is not None), default=0.0)
    return charts.nice_ceiling(longest) if longest <= 60 else 60 * charts.nice_ceiling(longest / 60)


def _share(level: float | None) -> float | None:
    return None if level is None else 100 * level


def _percent(value: float) -> str:
    return f"{value:.0f} %"


def _minutes(value: float) -> str:
    return f"{value:g}"


def _where(view: StatsView) -> str:
    return "all queues" if view.queue is None else f"queue {view.queue}"


def chart_markup(view: StatsView) -> dict[str, Markup]:
    """Every chart of the page, by name; the page puts a table of the same numbers beside each."""
    labels = [d.strftime("%d %b") for d, _ in view.days]
    figures = [f for _, f in view.days]
    span = f"{view.first.isoformat()} to {view.last.isoformat()}, {_where(view)}"
    level = f"answered within {_minutes(view.within_minutes)} min"
    found: dict[str, Markup] = {
        "counts": charts.columns(
            chart_id="chart-counts",
            title="Chats per day",
            desc=f"Joins, served and abandoned per day, {span}. "
            f"Counts under 5 are not shown. The table below has the same numbers.",
            labels=labels,
            series=[
                charts.Series("Joins", tuple(f.joins for f in figures), "joins"),
                charts.Series("Served", tuple(f.served for f in figures), "served"),
                charts.Series("Abandoned", tuple(f.abandoned for f in figures), "abandoned"),
            ],
        ),
        "waits": charts.columns(
            chart_id="chart-waits",
            title="Wait before a counsellor answered, per day",
            desc=f"Median (p50) and 90th percentile (p90) wait of served chats per day, {span}; "
            "shown only for days with at least 5 served chats.",
            labels=labels,
            series=[
                charts.Series("p50", tuple(f.wait_p50 for f in figures), "p50"),
                charts.Series("p90", tuple(f.wait_p90 for f in figures), "p90"),
            ],
            top=_wait_top([v for f in figures for v in (f.wait_p50, f.wait_p90)]),
            fmt=duration,
            suppressed=FEW_SERVED,
        ),
        "level": charts.columns(
            chart_id="chart-level",
            title=f"Service level per day: share of served chats {level}",
            desc=f"Percent of served chats {level}, per day, {span}; "
            "shown only for days with at least 5 served chats.",
            labels=labels,
            series=[
                charts.Series(
                    "Service level",
                    tuple(
                        None if f.service_level is None else 100 * f.service_level for f in figures
                    ),
                    "level",
                )
            ],
            top=100,
            fmt=_percent,
            suppressed=FEW_SERVED,
        ),
    }
    today = view.now
    found["today"] = charts.bars(
        chart_id="chart-today",
        title=f"Today, {view.today.isoformat()}",
        desc=f"Joins, served and abandoned today, {_where(view)}. Counts under 5 are not shown.",
        labels=["Joins", "Served", "Abandoned"],
        values=[today.joins, today.served, today.abandoned],
        css="joins",
    )
    names = {"topic": "Topics", "outcome": "Outcomes", "referral": "Referrals"}
    for dimension, counts in view.tags.items():
        found[dimension] = charts.bars(
            chart_id=f"chart-{dimension}",
            title=f"{names[dimension]} tagged at close",
            desc=f"Chats closed with each {dimension}, {span}. Counts under 5 are not shown.",
            labels=[c.label for c in counts],
            values=[c.count for c in counts],
            css=dimension,
        )
    helped = view.feedback_recent
    found["feedback"] = charts.bars(
        chart_id="chart-feedback",
        title="Did this chat help you? (asked after the chat)",
        desc=f"Answers from {view.feedback_since.isoformat()} to {view.today.isoformat()}, "
        f"{_kind_words(view)}. Counts under 5 are not shown.",
        labels=[a.label for a in helped],
        values=[a.count for a in helped],
        css="feedback",
    )
    return found


def _kind_words(view: StatsView) -> str:
    kind = feedback.kind_of_queue(view.queue)
    return "all chats" if kind is None else f"{kind} chats"


def context(view: StatsView) -> dict[str, Any]:
    """What ``stats.html`` renders."""
    return {
        "view": view,
        "charts": chart_markup(view),
        "duration": duration,
        "suppressed": charts.SUPPRESSED,
        "few_served": FEW_SERVED,
        "feedback_of": _kind_words(view),
    }
