"""Where the quick exit leads (SAFETY S-1): per language, never a search, configurable."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from app.config import QUICK_EXIT_DEFAULTS, Settings
from tests.conftest import Database, start_server


def test_the_shipped_destinations_are_neutral_front_pages_per_language() -> None:
    settings = Settings()
    assert settings.quick_exit_for("sv") == QUICK_EXIT_DEFAULTS["sv"]
    assert settings.quick_exit_for("ar") == QUICK_EXIT_DEFAULTS["ar"]
    assert settings.quick_exit_for("en") == QUICK_EXIT_DEFAULTS["en"]
    # A language added later without a destination of its own, and a page of no language.
    assert settings.quick_exit_for("so") == QUICK_EXIT_DEFAULTS["sv"]
    assert settings.quick_exit_for(None) == QUICK_EXIT_DEFAULTS["sv"]
    for url in QUICK_EXIT_DEFAULTS.values():
        assert url.startswith("https://")
        assert "?" not in url
        assert "google" not in url
        assert "search" not in url


def test_one_destination_for_all_and_overrides_per_language() -> None:
    settings = Settings(
        quick_exit_url="https://example.org/weather",
        quick_exit_urls={"ar": "https://ar.example.org/", "fa": "/healthz"},
    )
    assert settings.quick_exit_for("sv") == "https://example.org/weather"
    assert settings.quick_exit_for("ar") == "https://ar.example.org/"
    assert settings.quick_exit_for("fa") == "/healthz"
    only_some = Settings(quick_exit_urls={"sv": "https://www.svt.se/"})
    assert only_some.quick_exit_for("sv") == "https://www.svt.se/"
    assert only_some.quick_exit_for("ar") == QUICK_EXIT_DEFAULTS["ar"]


def test_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VH_QUICK_EXIT_URL", "https://www.smhi.se/")
    monkeypatch.setenv("VH_QUICK_EXIT_URLS", '{"ar": "https://ar.wikipedia.org/"}')
    settings = Settings()
    assert settings.quick_exit_for("en") == "https://www.smhi.se/"
    assert settings.quick_exit_for("ar") == "https://ar.wikipedia.org/"


@pytest.mark.parametrize(
    "url",
    [
        "https://www.google.com/search?q=weather",
        "https://duckduckgo.com/?q=weather",
        "https://www.bing.com/search?form=x",
        "https://example.org/?s=weather",
        "http://www.smhi.se/",
        "javascript:alert(1)",
        "//evil.example/",
        "www.smhi.se",
        "",
    ],
)
def test_a_search_or_an_unsafe_address_is_refused(url: str) -> None:
    if url == "":
        # Empty means unset: the shipped defaults.
        assert Settings(quick_exit_url=url).quick_exit_for("sv") == QUICK_EXIT_DEFAULTS["sv"]
        with pytest.raises(ValidationError):
            Settings(quick_exit_urls={"sv": url})
        return
    with pytest.raises(ValidationError):
        Settings(quick_exit_url=url)
    with pytest.raises(ValidationError):
        Settings(quick_exit_urls={"sv": url})


def test_a_language_code_is_checked() -> None:
    with pytest.raises(ValidationError, match="language code"):
        Settings(quick_exit_urls={"Swedish!": "https://www.smhi.se/"})


def test_each_page_links_to_its_languages_destination(tmp_path: Path) -> None:
    path = tmp_path / "vh.sqlite3"
    database = Database("sqlite", f"sqlite+aiosqlite:///{path}", path)
    server = start_server(
        database,
        tmp_path,
        VH_QUICK_EXIT_URL="/healthz?all",
        VH_QUICK_EXIT_URLS='{"ar": "/healthz?ar"}',
    )
    try:
        for page, expected in (
            ("/sv/", "/healthz?all"),
            ("/sv/chat", "/healthz?all"),
            ("/ar/", "/healthz?ar"),
            ("/ar/chat", "/healthz?ar"),
        ):
            text = httpx.get(server.base_url + page, timeout=15).text
            links = re.findall(r'<a [^>]*data-quick-exit[^>]*href="([^"]+)"', text)
            assert links == [expected, expected], page  # the skip link and the exit
    finally:
        server.stop()
