"""The house pages' Markdown: raw HTML and images are never rendered, links follow the policy,
every page exists in Swedish, English and Arabic, and the opening hours read in the page's
language (app/pages/content.py, app/pages/hoursview.py)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from app.i18n import catalogs
from app.pages import content, hoursview
from app.triage import hours

ROOT = Path(__file__).resolve().parents[2]


def _html(text: str) -> str:
    page = content.render(text, slug="t", code="sv")
    return "".join(str(s.html) for s in page.segments if s.html is not None)


def test_raw_html_in_a_file_is_shown_as_text() -> None:
    html = _html(
        '# Title\n\n<script>alert("x")</script>\n\n<img src=x onerror=alert(1)>\n\n'
        'Inline <b onclick="x()">bold</b> and <iframe src="https://evil.example"></iframe>\n'
    )
    assert "<script" not in html
    assert "<img" not in html
    assert "<b " not in html
    assert "<iframe" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;b onclick=&quot;x()&quot;&gt;bold&lt;/b&gt;" in html


def test_images_are_never_rendered_so_nothing_loads_from_elsewhere() -> None:
    html = _html("# T\n\n![a tracker](https://tracker.example/pixel.png)\n")
    assert "<img" not in html
    assert "src=" not in html


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("[us](/sv/hours)", '<a href="/sv/hours">us</a>'),
        ("[call](tel:112)", '<a href="tel:112" dir="ltr">call</a>'),
        ("[BRIS](https://www.bris.se)", '<a href="https://www.bris.se" rel="noreferrer">BRIS</a>'),
        ("<https://www.bris.se>", '<a href="https://www.bris.se" rel="noreferrer">'),
    ],
)
def test_allowed_links(markdown: str, expected: str) -> None:
    assert expected in _html(f"# T\n\n{markdown}\n")


@pytest.mark.parametrize(
    "markdown",
    [
        "[x](javascript:alert(1))",
        "[x](http://plain.example)",
        "[x](mailto:someone@example.org)",
        "[x](//other.example/page)",
        "[x](data:text/html,hi)",
        "[x](tel:not-a-number)",
        "<http://plain.example>",
    ],
)
def test_other_links_keep_only_their_text(markdown: str) -> None:
    html = _html(f"# T\n\n{markdown}\n")
    assert "<a" not in html, html
    assert "href" not in html


def test_blocks_and_numbers_are_filled_per_request() -> None:
    page = content.render(
        "# T\n\nKept {retention_days} days, {professional_retention_days} for consultations.\n\n"
        "{opening_hours}\n\nAfter.\n\n{helplines}\n",
        slug="t",
        code="en",
    )
    kinds = [s.block or "html" for s in page.segments]
    assert kinds == ["html", "opening_hours", "html", "helplines"]
    filled = page.filled({"retention_days": 30, "professional_retention_days": 90})
    assert "Kept 30 days, 90 for consultations." in str(filled[0].html)


@pytest.mark.parametrize(
    ("text", "problem"),
    [("No heading here.\n", "must start"), ("# T\n\n{password}\n", "unknown placeholder")],
)
def test_a_bad_file_is_refused_at_start(text: str, problem: str) -> None:
    with pytest.raises(content.InvalidPage, match=problem):
        content.render(text, slug="t", code="sv")


@pytest.mark.parametrize("code", ["sv", "en", "ar"])
def test_every_page_exists_in_swedish_english_and_arabic(code: str) -> None:
    pages = content.load((code,))
    assert {slug for _, slug in pages} == set(content.SLUGS)


def test_links_between_pages_lead_to_pages_that_exist() -> None:
    languages = set(catalogs.languages())
    for path in sorted(content.CONTENT_DIR.glob("*/*.md")):
        for target in re.findall(r"\]\((/[^)]*)\)", path.read_text("utf-8")):
            code, _, slug = target.strip("/").partition("/")
            assert code == path.parent.name, (path, target)  # the page's own language
            assert code in languages, (path, target)
            assert slug in (*content.SLUGS, "chat"), (path, target)
            assert slug != "start", (path, target)  # the start page is /<code>/


def test_the_navigation_names_every_page() -> None:
    nav = (ROOT / "frontend" / "templates" / "youth_nav.html").read_text("utf-8")
    slugs = re.findall(r'\("([a-z-]*)", _\(', nav)
    assert tuple("start" if s == "" else s for s in slugs) == content.SLUGS


def test_the_opening_hours_read_in_the_pages_language() -> None:
    nine_to_five = (hours.Interval(time(9), time(17)),)
    schedule = hours.Schedule(
        weekly={0: nine_to_five, 1: (*nine_to_five, hours.Interval(time(19), time(0)))},
        exceptions={date(2026, 12, 24): (), date(2027, 6, 1): nine_to_five},
    )
    # Thursday 3 December 2026, 12:00 in Stockholm: closed, opens Monday 09:00.
    now = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
    swedish = hoursview.view(schedule, now, "sv")
    assert not swedish.open_now
    assert swedish.next_opening == "måndag 09:00"
    assert swedish.week[0] == hoursview.Day("Måndag", (("09:00", "17:00"),), all_day=False)
    assert swedish.week[1].times == (("09:00", "17:00"), ("19:00", "24:00"))
    assert swedish.week[6] == hoursview.Day("Söndag", (), all_day=False)
    # Only the exceptions of the coming month are listed.
    assert swedish.exceptions == (hoursview.Day("Torsdag 24 december", (), all_day=False),)
    arabic = hoursview.view(schedule, now, "ar")
    assert arabic.week[0].name == "الاثنين"
    assert arabic.next_opening.startswith("الاثنين")
    english = hoursview.view(schedule, datetime(2026, 11, 30, 9, 0, tzinfo=UTC), "en")
    assert english.open_now
    assert english.next_opening == ""
    always = hours.Schedule(weekly={d: (hours.Interval(time(0), time(0)),) for d in range(7)})
    assert all(day.all_day for day in hoursview.view(always, now, "en").week)


def test_a_page_missing_in_a_language_is_shown_in_swedish() -> None:
    from app.pages import house

    found = house.find("so", "hours")  # a language whose pages are not written yet
    assert found is not None
    assert found.code == "sv"
    assert house.find("ar", "hours") is not None
    assert house.find("ar", "no-such-page") is None
