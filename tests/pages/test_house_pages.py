"""The house pages over a real server, and the HTML 404 and 500 of page requests (issue 12 §2).

Every page answers in Swedish, English and Arabic with ``lang``/``dir`` right, the quick exit,
the site navigation and a language picker to the same page; the live parts are the server's
real settings (opening hours by Babel, the configured helplines, the retention days). A page
request that finds nothing or crashes is an HTML page with the exit in the path's language;
the API keeps its JSON errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from app.pages import content
from app.pages.assets import assets
from tests.conftest import Server, database_of, start_server

EXIT = "/healthz"
HOURS = {
    "timezone": "Europe/Stockholm",
    "weekly": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "helplines": [
        {"name": "Testlinjen", "phone": "08-123 45 67", "hours": "24/7", "url": "https://t.example"}
    ],
}
PATHS = {slug: f"/{{code}}/{'' if slug == 'start' else slug}" for slug in content.SLUGS}
LANGUAGES = {"sv": "ltr", "en": "ltr", "ar": "rtl"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("house")
    hours_file = tmp / "hours.json"
    hours_file.write_text(json.dumps(HOURS), "utf-8")
    with database_of("sqlite", tmp) as database:
        srv = start_server(
            database,
            tmp,
            VH_QUICK_EXIT_URL=EXIT,
            VH_OPENING_HOURS_FILE=str(hours_file),
            VH_RETENTION_DAYS="21",
            VH_RETENTION_BY_QUEUE='{"professional": 60}',
        )
        try:
            yield srv
        finally:
            srv.stop()


def _get(server: Server, path: str) -> httpx.Response:
    return httpx.get(server.base_url + path, follow_redirects=False, timeout=15)


def _has_exit(html: str) -> None:
    """The quick exit as a plain link to its destination (SAFETY S-1)."""
    exits = [
        tag
        for tag in re.findall(r"<a\b[^>]*>", html)
        if re.search(r"\sdata-quick-exit[\s>=]", tag) and f'href="{EXIT}"' in tag
    ]
    assert exits, "no quick exit link"


@pytest.mark.parametrize("code", sorted(LANGUAGES))
@pytest.mark.parametrize("slug", content.SLUGS)
def test_every_page_renders_in_its_language(server: Server, code: str, slug: str) -> None:
    path = PATHS[slug].format(code=code)
    response = _get(server, path)
    assert response.status_code == 200, path
    html = response.text
    assert f'<html lang="{code}" dir="{LANGUAGES[code]}">' in html
    assert "set-cookie" not in response.headers
    assert "{" not in html.split("<main", 1)[1].split("</main>")[0]  # placeholders filled
    _has_exit(html)
    # No inline code or style: the CSP admits neither (SECURITY R-13).
    assert not re.search(r"\s(on[a-z]+|style)\s*=", html, flags=re.IGNORECASE)
    # The navigation marks this page; the language picker leads to this page in each language.
    current = re.findall(r'<a href="([^"]*)"[^>]*aria-current="page"', html)
    assert current == [path, path], current
    for other in LANGUAGES:
        assert f'href="{PATHS[slug].format(code=other)}" lang="{other}"' in html
    # Every link is ours, a phone number or an https page that sends no referrer.
    for tag in re.findall(r"<a\b[^>]*>", html):
        href = re.search(r'href="([^"]*)"', tag)
        assert href is not None, tag
        target = href.group(1)
        if target.startswith("https://"):
            assert 'rel="noreferrer"' in tag, tag
        else:
            assert target.startswith(("/", "tel:")), tag


@pytest.mark.parametrize("code", sorted(LANGUAGES))
def test_the_opening_hours_are_the_configured_ones_in_the_pages_language(
    server: Server, code: str
) -> None:
    html = _get(server, f"/{code}/hours").text
    monday = {"sv": "Måndag", "en": "Monday", "ar": "الاثنين"}[code]
    closed = {"sv": "Stängt", "en": "Closed", "ar": "مغلق"}[code]
    row = f'<th scope="row">{monday}</th><td><bdi class="hours-range" dir="ltr">09:00\u201317:00'
    assert row in html
    assert html.count(f"<td>{closed}</td>") == 2  # Saturday and Sunday
    assert "Europe/Stockholm" in html


def test_in_danger_now_calls_112_and_lists_the_helplines(server: Server) -> None:
    html = _get(server, "/sv/urgent").text
    assert '<a href="tel:112" dir="ltr">112</a>' in html
    assert '<a class="button button-emergency" href="tel:112">Ring 112</a>' in html
    assert '<a href="tel:116111" dir="ltr">116 111</a>' in html
    # The centre's own helplines, from its settings.
    assert '<strong>Testlinjen</strong>: <a href="tel:081234567" dir="ltr">08-123 45 67</a>' in html
    assert '<a href="https://t.example" rel="noreferrer">Webbplats</a>' in html


def test_privacy_names_the_real_retention(server: Server) -> None:
    for code, days in (("sv", "21 dagar"), ("en", "21 days"), ("ar", "21 يومًا")):
        html = _get(server, f"/{code}/privacy").text
        assert days in html, code
        assert "60" in html


def test_professionals_have_their_own_entry(server: Server) -> None:
    html = _get(server, "/en/professionals").text
    assert '<a class="button" href="/en/chat?for=professional">Start a consultation</a>' in html
    assert "60 days" in html
    start = _get(server, "/ar/").text
    assert 'href="/ar/chat"' in start
    assert 'href="/ar/chat?for=professional"' in start


def test_the_chat_page_has_no_site_navigation(server: Server) -> None:
    html = _get(server, "/sv/chat").text
    assert 'class="house-nav"' not in html  # a link there would end a chat in progress
    assert 'class="house-nav"' in _get(server, "/sv/").text


@pytest.mark.parametrize(
    ("path", "code", "text"),
    [
        ("/sv/no-such-page", "sv", "Vi hittar inte sidan"),
        ("/ar/no-such-page", "ar", "لا نجد هذه الصفحة"),
        ("/en/start", "en", "We cannot find this page"),
        ("/en/hours/more", "en", "We cannot find this page"),
        ("/xx/", "sv", "Vi hittar inte sidan"),
        ("/no-such-page", "sv", "Vi hittar inte sidan"),
    ],
)
def test_a_missing_page_is_an_html_404_with_the_exit(
    server: Server, path: str, code: str, text: str
) -> None:
    response = _get(server, path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert f'<html lang="{code}" dir="{LANGUAGES[code]}">' in response.text
    assert text in response.text
    assert f'href="/{code}/"' in response.text
    assert 'href="tel:112"' in response.text
    assert "set-cookie" not in response.headers
    _has_exit(response.text)


@pytest.mark.parametrize(
    "path",
    ["/api/nope", "/api/youth/nope", "/staff/api/nope", "/staff/nope", "/static/nope.js", "/ws/x"],
)
def test_the_api_keeps_its_json_404(server: Server, path: str) -> None:
    response = _get(server, path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# ---------------------------------------------------------------------- the 500


@pytest.fixture
def crashing(tmp_path: Path) -> FastAPI:
    app = create_app(
        Settings(
            mode="test",
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'crash.sqlite3'}",
            quick_exit_url=EXIT,
        )
    )

    async def boom() -> None:
        raise RuntimeError("secret-detail-4b1d")

    for path in ("/crash", "/ar/crash/now", "/api/crash"):
        app.add_api_route(path, boom)
    return app


async def test_a_page_that_crashes_is_an_html_500_without_details(crashing: FastAPI) -> None:
    transport = httpx.ASGITransport(app=crashing, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://house.test") as client:
        swedish = await client.get("/crash")
        arabic = await client.get("/ar/crash/now")
        api = await client.get("/api/crash")
    for response, code, text in (
        (swedish, "sv", "Något gick fel hos oss"),
        (arabic, "ar", "حدث خطأ من جهتنا"),
    ):
        assert response.status_code == 500
        assert response.headers["content-type"].startswith("text/html")
        html = response.text
        assert f'<html lang="{code}" dir="{LANGUAGES[code]}">' in html
        assert text in html
        _has_exit(html)
        for leak in ("secret-detail", "RuntimeError", "Traceback", "crash"):
            assert leak not in html
        # The security headers, with the import map's hash so that the page's one inline
        # script runs (the 500 is sent outside the headers middleware).
        assert response.headers["cache-control"] == "no-store"
        assert assets().importmap_csp in response.headers["content-security-policy"]
    assert api.status_code == 500
    assert api.json() == {
        "error": {"code": "internal_error", "message": "something went wrong on our side"}
    }
