"""The youth pages in the page's language, carried in the path (``/sv/``, ``/ar/chat``).

Never a cookie, never the browser's Accept-Language (SAFETY S-19): ``/`` and ``/chat`` answer
307 to the default language's page. Templates are translated with Jinja's i18n extension over
the catalogs of ``app/i18n``; the strings the page's JavaScript needs travel in the page as a
JSON data block (``<script type="application/json" id="vh-catalog">``, never executed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup
from starlette.convertors import Convertor, register_url_convertor

from app.i18n import catalogs, dates
from app.i18n.catalogs import Language
from app.pages.endpoints import _render as render
from app.pages.endpoints import chat_context, templates
from app.state import get_state
from app.triage import hours
from app.triage.dispatcher import get_dispatcher


class LanguageConvertor(Convertor[str]):
    """A path segment that is one of the catalogs' codes, so ``/no-such-page`` stays a 404
    (and is not redirected to ``/no-such-page/``)."""

    regex = "|".join(sorted(catalogs.languages(), key=len, reverse=True))

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("vh_lang", LanguageConvertor())
router = APIRouter(include_in_schema=False)

_current: ContextVar[Language | None] = ContextVar("vh_language", default=None)


def _gettext(message: str) -> str:
    found = _current.get()
    return found.gettext(message) if found else message


def _ngettext(singular: str, plural: str, n: int) -> str:
    found = _current.get()
    if found:
        return found.ngettext(singular, plural, n)
    return singular if n == 1 else plural


templates.env.add_extension("jinja2.ext.i18n")
templates.env.policies["ext.i18n.trimmed"] = True
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    _gettext, _ngettext, newstyle=True
)


@contextmanager
def _speaking(found: Language) -> Iterator[None]:
    """Templates render inside the response's constructor: the language is set around it."""
    token = _current.set(found)
    try:
        yield
    finally:
        _current.reset(token)


def _language(code: str) -> Language:
    found = catalogs.language(code)
    if found is None:
        raise HTTPException(status_code=404, detail="not_found")
    return found


def _json_block(data: object) -> Markup:
    """JSON safe inside a ``<script type="application/json">`` (no ``<``, ``>``, ``&``)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - escaped above, never user input


def _openings(request: Request, locale: str) -> dict[str, str]:
    """The next openings a refusal or ``unserved`` may name, unix seconds -> "tisdag 09:00"."""
    schedule = get_dispatcher(request).setup.schedule
    now = datetime.fromtimestamp(get_state(request).clock(), UTC)
    found: dict[str, str] = {}
    for at in (hours.next_opening(schedule, now), hours.next_session(schedule, now)):
        if at is not None:
            found[str(int(at.timestamp()))] = dates.weekday_time(at, schedule.timezone, locale)
    return found


def _page(request: Request, template: str, found: Language, page: str, **context: Any) -> Any:
    schedule = get_dispatcher(request).setup.schedule
    others = [
        {"code": other.code, "name": other.name, "dir": other.dir, "href": f"/{other.code}/{page}"}
        for other in catalogs.languages().values()
    ]
    script = {
        "lang": found.code,
        "timezone": schedule.timezone,
        "messages": found.script_catalog,
        "openings": _openings(request, found.code),
    }
    with _speaking(found):
        return render(
            request,
            template,
            lang=found.code,
            dir=found.dir,
            languages=others,
            page=page,
            catalog_json=_json_block(script),
            **context,
        )


@router.get("/", response_class=RedirectResponse, status_code=307)
async def house_default() -> RedirectResponse:
    return RedirectResponse(f"/{catalogs.DEFAULT_LOCALE}/", status_code=307)


@router.get("/chat", response_class=RedirectResponse, status_code=307)
async def chat_default(request: Request) -> RedirectResponse:
    query = request.url.query
    target = f"/{catalogs.DEFAULT_LOCALE}/chat" + (f"?{query}" if query else "")
    return RedirectResponse(target, status_code=307)


@router.get("/{lang:vh_lang}/chat", response_class=HTMLResponse)
async def chat(request: Request, lang: str) -> HTMLResponse:
    found = _language(lang)
    response: HTMLResponse = _page(request, "chat.html", found, "chat", **chat_context(request))
    return response
