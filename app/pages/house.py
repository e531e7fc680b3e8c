"""The house pages: ``/sv/`` (start), ``/sv/hours``, ``/ar/urgent``… (issue 12 §2).

Their text is Markdown per language (``app/pages/content.py``, docs/EDITING-PAGES.md), read and
rendered once when the app starts. A page missing in a language is shown in Swedish (marked
``lang="sv"``), so a new language can be added before every page is translated. The live parts
are rendered per request: the configured opening hours (Babel, in the page's language), the
centre's helplines and the retention settings.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from app.i18n import catalogs
from app.pages import content, hoursview
from app.pages.endpoints import chat_context
from app.pages.youth import _language, _page
from app.state import get_state
from app.triage import hours
from app.triage.dispatcher import get_dispatcher

router = APIRouter(include_in_schema=False)
#: Every page in every language, rendered at start (a bad file stops the server there).
PAGES = content.load(tuple(catalogs.languages()))


def find(code: str, slug: str) -> content.Page | None:
    """The page in ``code``, else in the default language, else None."""
    return PAGES.get((code, slug)) or PAGES.get((catalogs.DEFAULT_LOCALE, slug))


def _helpline(line: hours.Helpline) -> dict[str, str]:
    """A configured helpline as the page shows it: the number as a ``tel:`` link when it looks
    like one (as the chat page's refusals do), its website only when it is ``https://``."""
    digits = re.sub(r"[^+0-9]", "", line.phone)
    looks_like = re.fullmatch(r"[+0-9 ()-]{2,32}", line.phone) is not None
    return {
        "name": line.name,
        "phone": line.phone,
        "tel": digits if looks_like and content.allowed_link(f"tel:{digits}") else "",
        "hours": line.hours,
        "url": line.url if line.url.startswith("https://") else "",
    }


def _context(request: Request, code: str, slug: str) -> dict[str, Any]:
    page = find(code, slug)
    if page is None:
        raise HTTPException(status_code=404, detail="not_found")
    kept = chat_context(request)
    setup = get_dispatcher(request).setup
    now = datetime.fromtimestamp(get_state(request).clock(), UTC)
    speaks = catalogs.language(page.code)
    return {
        "slug": slug,
        "segments": page.filled(kept),
        "content_lang": page.code,
        "content_dir": speaks.dir if speaks else "ltr",
        "hours": hoursview.view(setup.schedule, now, code),
        "helplines": [_helpline(h) for h in setup.policy.helplines],
        "emergency": setup.policy.emergency_number,
    }


@router.get("/{lang:vh_lang}/", response_class=HTMLResponse)
async def start(request: Request, lang: str) -> HTMLResponse:
    """The house: its text, 112 and the way into the chat."""
    found = _language(lang)
    response: HTMLResponse = _page(
        request, "house.html", found, "", **_context(request, found.code, "start")
    )
    return response


@router.get("/{lang:vh_lang}/{slug}", response_class=HTMLResponse)
async def house_page(request: Request, lang: str, slug: str) -> HTMLResponse:
    """One information page; an unknown slug is the HTML 404 (``app/pages/errors.py``)."""
    found = _language(lang)
    if slug not in content.SLUGS or slug == "start":
        raise HTTPException(status_code=404, detail="not_found")
    response: HTMLResponse = _page(
        request, "house_page.html", found, slug, **_context(request, found.code, slug)
    )
    return response
