"""The youth pages in their languages, over a real server: the language is in the path only."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.conftest import Server


def _get(server: Server, path: str) -> httpx.Response:
    return httpx.get(server.base_url + path, follow_redirects=False, timeout=15)


@pytest.mark.parametrize(
    ("path", "lang", "direction", "text"),
    [
        ("/sv/", "sv", "ltr", "Chatta med en kurator"),
        ("/en/", "en", "ltr", "Chat with a counsellor"),
        ("/ar/", "ar", "rtl", "تحدّث مع مرشد"),
        ("/sv/chat", "sv", "ltr", "Starta chatten"),
        ("/en/chat", "en", "ltr", "Start chat"),
        ("/ar/chat", "ar", "rtl", "ابدأ المحادثة"),
    ],
)
def test_each_page_speaks_the_language_of_its_path(
    server: Server, path: str, lang: str, direction: str, text: str
) -> None:
    response = _get(server, path)
    assert response.status_code == 200
    assert f'<html lang="{lang}" dir="{direction}">' in response.text
    assert text in response.text
    assert "set-cookie" not in response.headers
    # The language picker: the same page in every language, each named in itself.
    page = path.split("/", 2)[2]
    for code, name in (("sv", "Svenska"), ("en", "English"), ("ar", "العربية")):
        assert f'href="/{code}/{page}" lang="{code}"' in response.text
        assert f">{name}</a>" in response.text
    assert 'aria-current="page"' in response.text


def test_the_page_catalog_is_data_for_the_scripts(server: Server) -> None:
    html = _get(server, "/ar/chat").text
    found = re.search(r'<script type="application/json" id="vh-catalog">(.*?)</script>', html)
    assert found is not None
    data = json.loads(found.group(1))
    assert data["lang"] == "ar"
    assert data["timezone"] == "Europe/Stockholm"
    assert data["messages"]["You"] == "أنت"
    assert "Start chat" not in data["messages"]


def test_the_triage_language_defaults_to_the_pages(server: Server) -> None:
    for code in ("sv", "en", "ar"):
        html = _get(server, f"/{code}/chat").text
        assert re.search(rf'<option value="{code}" lang="{code}"( dir="rtl")? selected>', html)


@pytest.mark.parametrize(
    ("path", "target"),
    [("/", "/sv/"), ("/chat", "/sv/chat"), ("/chat?for=professional", "/sv/chat?for=professional")],
)
def test_the_old_addresses_lead_to_swedish_without_a_cookie(
    server: Server, path: str, target: str
) -> None:
    response = _get(server, path)
    assert response.status_code == 307
    assert response.headers["location"] == target
    assert "set-cookie" not in response.headers


def test_accept_language_is_not_used(server: Server) -> None:
    response = httpx.get(
        server.base_url + "/", headers={"Accept-Language": "ar"}, follow_redirects=False
    )
    assert response.headers["location"] == "/sv/"


def test_an_unknown_language_is_not_found(server: Server) -> None:
    assert _get(server, "/xx/").status_code == 404
    assert _get(server, "/xx/chat").status_code == 404
