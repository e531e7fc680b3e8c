"""Page routes. Youth pages set no cookie and carry one quick-exit link (SAFETY S-1, S-9)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from app.keys.service import describe_service_key
from app.pages.assets import TEMPLATES, assets
from app.state import get_state

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


def _render(request: Request, template: str, **context: Any) -> HTMLResponse:
    state = get_state(request)
    return templates.TemplateResponse(
        request,
        template,
        {
            "quick_exit_url": state.settings.quick_exit_url,
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


@router.get("/staff/admin/replies", response_class=HTMLResponse)
async def canned_replies(request: Request) -> HTMLResponse:
    """The admins' canned replies page; the page checks the session and role itself (the API
    checks them again)."""
    return _render(request, "admin_replies.html")


@router.get("/staff", response_class=HTMLResponse)
async def console(request: Request) -> HTMLResponse:
    return _render(request, "console.html")
