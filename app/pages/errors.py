"""The 404 and 500 of a page request: a youth page with the quick exit, never JSON (issue 12 §2).

A request is a *page request* unless its path belongs to an API or a machine: ``/api/…``,
``/staff…`` (the console's API and pages keep their JSON errors), ``/ws/…``, ``/metrics``,
``/healthz``, ``/readyz``, ``/static/…`` and the API docs. The page speaks the language of the
path's first segment when it is one of the catalogs (``/ar/nope`` is Arabic), else Swedish.

The page is rendered from what the app factory holds (the quick exit's address, the service
key), not from the request's state: a crash may happen before or outside the lifespan. It
never names the exception, the path or anything the request sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from fastapi import Request
from fastapi.responses import HTMLResponse

from app.i18n import catalogs
from app.i18n.catalogs import Language
from app.pages.endpoints import templates
from app.pages.youth import _json_block, _speaking

#: Paths whose errors stay JSON as the API documents them (PROTOCOL.md §1).
MACHINE_PREFIXES: Final = (
    "/api/",
    "/staff",
    "/ws/",
    "/static/",
    "/metrics",
    "/healthz",
    "/readyz",
    "/docs",
    "/redoc",
    "/openapi.json",
)


def is_page_request(path: str) -> bool:
    """Whether an error at ``path`` is answered with an HTML page (module docstring)."""
    return path != "/api" and not path.startswith(MACHINE_PREFIXES)


def language_of(path: str) -> Language:
    """The language of the path's first segment, else the default (Swedish)."""
    first = path.lstrip("/").split("/", 1)[0]
    found = catalogs.language(first) if first else None
    if found is None:
        found = catalogs.languages()[catalogs.DEFAULT_LOCALE]
    return found


def error_page(
    request: Request,
    status: int,
    *,
    quick_exit_for: Callable[[str | None], str],
    service_key: str,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The HTML page for a 404 (``status=404``) or any server error (500)."""
    found = language_of(request.url.path)
    others = [
        {"code": other.code, "name": other.name, "dir": other.dir, "href": f"/{other.code}/"}
        for other in catalogs.languages().values()
    ]
    script = {"lang": found.code, "messages": found.script_catalog}
    with _speaking(found):
        response: HTMLResponse = templates.TemplateResponse(
            request,
            "error.html",
            status_code=status,
            headers=headers,
            context={
                "quick_exit_url": quick_exit_for(found.code),
                "service_key": service_key,
                "lang": found.code,
                "dir": found.dir,
                "languages": others,
                "page": None,
                "status": 404 if status == 404 else 500,
                "catalog_json": _json_block(script),
            },
        )
    return response
