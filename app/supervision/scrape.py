"""A Prometheus scrape: the live queue figures read from the database, then the text format.

Two doors lead here (docs/PROTOCOL.md §1): ``GET /metrics`` on the service's own port, for an
admin's session (``endpoints.py``), and the internal listener of ``VH_METRICS_BIND``
(``internal_app``, started by ``app.server``), which asks for no session and so belongs on a
loopback or private address only.

A scrape costs three small reads (waiting tickets grouped by queue and language, staff on duty
by role, open chats), however long the queue. When they fail the scrape still answers, with
``vhouse_database_up 0`` and the in-process figures: an outage shows in the metrics instead of
hiding them.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.db import is_outage
from app.metrics import CONTENT_TYPE, Live, QueueFigures
from app.state import AppState, state_of
from app.supervision import repository as repo
from app.triage.dispatcher import dispatcher_of
from app.triage.engine import QueueKey
from app.triage.questions import QuestionSet

log = logging.getLogger(__name__)

#: Languages outside the question set's are counted together, so that a client choosing
#: language codes cannot make a new series each.
OTHER_LANGUAGE = "other"
#: A scrape that cannot read the database in this time answers without the queue figures.
READ_TIMEOUT = 2.0


async def live(state: AppState, questions: QuestionSet, now: float) -> Live:
    """The queue's figures now. Every configured queue and offered language is present (0 when
    none wait), so that dashboards see a queue empty rather than gone."""
    languages = questions.offered_languages()
    async with state.sessionmaker() as session:
        waiting = await repo.waiting_figures(session)
        on_duty = await repo.on_duty_by_role(session)
        active = await repo.count_open_chats(session)
    lines: dict[tuple[str, str], tuple[int, int, float]] = {
        (queue, language): (0, 0, 0.0)
        for queue in questions.queue_names()
        for language in languages
    }
    for kind, skill, language, count, urgent, first in waiting:
        key = (str(QueueKey(kind, skill)), language if language in languages else OTHER_LANGUAGE)
        n, u, wait = lines.get(key, (0, 0, 0.0))
        lines[key] = (n + count, u + urgent, max(wait, now - first))
    queues = [QueueFigures(q, lang, *figures) for (q, lang), figures in sorted(lines.items())]
    return Live(
        queues=tuple(queues),
        on_duty={role: on_duty.get(role, 0) for role in ("counsellor", "supervisor", "admin")},
        active_chats=active,
    )


async def exposition(state: AppState, questions: QuestionSet) -> Response:
    """The whole scrape as a response in the Prometheus text format."""
    figures: Live | None = None
    try:
        async with asyncio.timeout(READ_TIMEOUT):
            figures = await live(state, questions, state.clock())
    except Exception as exc:
        if is_outage(exc) or isinstance(exc, TimeoutError):
            log.warning("metrics: database unavailable (%s)", type(exc).__name__)
        else:
            log.exception("metrics: reading the queue failed")
    body = state.metrics.render(figures, state.broker.status(), len(asyncio.all_tasks()))
    return Response(body, media_type=CONTENT_TYPE)


def internal_app(main: Starlette) -> Starlette:
    """The internal listener's app: ``GET /metrics`` of ``main`` without a session, and
    nothing else (404). Answers 503 until ``main``'s lifespan has started."""

    async def metrics(_: Request) -> Response:
        try:
            state, questions = state_of(main), dispatcher_of(main).setup.questions
        except AttributeError:
            return _error(503, "unavailable", "the service is starting")
        return await exposition(state, questions)

    async def not_found(_: Request, __: Exception) -> Response:
        return _error(404, "not_found", "only /metrics is served here")

    return Starlette(
        routes=[Route("/metrics", metrics, methods=["GET"])],
        exception_handlers={404: not_found, 405: not_found},
    )


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status)
