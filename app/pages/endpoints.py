"""Page routes. Youth pages set no cookie and carry one quick-exit link (SAFETY S-1, S-9)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from app.keys.service import describe_service_key
from app.kit.errors import NotAuthenticated
from app.pages.assets import TEMPLATES, assets
from app.security.dependencies import SUPERVISING_ROLES, CurrentStaff, current_staff
from app.state import get_state
from app.supervision import report, statistics, stats
from app.triage.dispatcher import get_dispatcher

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(TEMPLATES))


def _importmap() -> Markup:
    """The inline import map giving every module its integrity (allowed by hash in the CSP)."""
    # Our own JSON of static file names and hashes: nothing user-supplied, and JSON inside a
    # script element must not be HTML-escaped.
    importmap = Markup(assets().importmap)  # noqa: S704
    return Markup('<script type="importmap">{}</script>').format(importmap)


def _asset(kind: str, name: str) -> Markup:
    integrity = assets().integrity[name]
    if kind == "css":
        return Markup('<link rel="stylesheet" href="/static/{}" integrity="{}">').format(
            name, integrity
        )
    return Markup('<script type="module" src="/static/{}" integrity="{}"></script>').format(
        name, escape(integrity)
    )


templates.env.globals["asset"] = _asset
templates.env.globals["importmap"] = _importmap


def _render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    state = get_state(request)
    return templates.TemplateResponse(
        request,
        template,
        status_code=status_code,
        context={
            # Per page language (S-1): a youth page passes its ``lang``.
            "quick_exit_url": state.settings.quick_exit_for(context.get("lang")),
            "mode": state.settings.mode,
            # The key every certificate is checked against (CRYPTO.md §2); its fingerprint is
            # published (docs/THREAT-MODEL.md).
            "service_key": describe_service_key(state.service_key).public_key,
            **context,
        },
    )


def chat_context(request: Request) -> dict[str, Any]:
    """What the chat page says about keeping conversations (rendered by app/pages/youth.py)."""
    # How long a conversation is kept after it ends, said before the first chat and beside the
    # return code (SAFETY S-17). The youth queue's number is shown up front; the page names its
    # own queue's (``retention_by_queue``: a queue, else its kind, else the default, as the
    # purge counts, app/chat/retention.py) once the ticket says which queue it is in.
    settings = get_state(request).settings
    by_queue = settings.retention_by_queue
    retention = {"default": settings.retention_days, **by_queue}
    return {
        "retention_days": by_queue.get("youth", settings.retention_days),
        "professional_retention_days": by_queue.get("professional", settings.retention_days),
        "retention_json": json.dumps(retention, separators=(",", ":"), sort_keys=True),
    }


@router.get("/staff/board", response_class=HTMLResponse)
async def live_board(request: Request) -> HTMLResponse:
    """The supervisors' live board; the page checks the session and role itself (the data
    comes over the staff socket, which checks them again)."""
    return _render(request, "board.html")


@router.get("/staff/admin", response_class=HTMLResponse)
async def staff_admin(request: Request) -> HTMLResponse:
    """The admins' staff accounts page; the page checks the session and role itself (every
    call of its API checks them again)."""
    return _render(request, "admin.html")


@router.get("/staff/admin/replies", response_class=HTMLResponse)
async def canned_replies(request: Request) -> HTMLResponse:
    """The admins' canned replies page; the page checks the session and role itself (the API
    checks them again)."""
    return _render(request, "admin_replies.html")


async def _supervisor(request: Request, template: str) -> CurrentStaff | HTMLResponse:
    """The supervisor or admin asking, or the page refused (401 not logged in, 403 for
    counsellors) without any data in it."""
    try:
        current = await current_staff(request)
    except NotAuthenticated:
        return _render(request, template, status_code=401, gate="login")
    if current.staff.role not in SUPERVISING_ROLES:
        text = "Statistics and the audit log are for supervisors."
        return _render(request, template, status_code=403, gate="forbidden", gate_text=text)
    return current


@router.get("/staff/stats", response_class=HTMLResponse)
async def statistics_page(
    request: Request,
    first: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    last: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    queue: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    """Today and a range of days as SVG charts with tables, rendered here (no script): for
    supervisors and admins. A bad range shows the last 30 days with the reason (422)."""
    current = await _supervisor(request, "stats.html")
    if isinstance(current, HTMLResponse):
        return current
    state = get_state(request)
    today = stats.local_day(state.clock(), get_dispatcher(request).setup.schedule.timezone)
    error = None
    try:
        first_day, last_day = statistics.choose_range(first, last, today)
    except report.BadRange as exc:
        error = str(exc).capitalize() + "."
        first_day, last_day = report.default_range(today)
    async with state.sessionmaker() as session:
        view = await statistics.load(
            session,
            get_dispatcher(request).setup.questions,
            today=today,
            first=first_day,
            last=last_day,
            queue=queue or None,
            within_minutes=state.settings.service_level_minutes,
        )
    return _render(
        request,
        "stats.html",
        status_code=200 if error is None else 422,
        who=current.staff,
        error=error,
        **statistics.context(view),
    )


@router.get("/staff/audit", response_class=HTMLResponse)
async def audit_page(request: Request) -> HTMLResponse:
    """The audit-log view for supervisors and admins; its rows come from ``/staff/api/audit``."""
    current = await _supervisor(request, "audit.html")
    if isinstance(current, HTMLResponse):
        return current
    return _render(request, "audit.html", who=current.staff)


@router.get("/staff", response_class=HTMLResponse)
async def console(request: Request) -> HTMLResponse:
    return _render(request, "console.html")


@router.get("/staff/admin/settings", response_class=HTMLResponse)
async def centre_settings(request: Request) -> HTMLResponse:
    """The admins' page for the centre's settings; the page checks the session and role
    itself (its API checks them again)."""
    return _render(request, "admin_settings.html")
