"""The youth pages in Swedish, English and Arabic in Chromium (issue 12 §1, SAFETY S-19): the
language is in the path, never in a cookie or storage; `<html lang dir>`; refusals and weekdays
in the page's language; Arabic lays out right to left."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import Database, Server, StaffAccount, start_server
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import EXIT_PATH, Contexts, staff_account
from tests.e2e.pages import open_console, send

# The pages' own behaviour (forms, wording, layout): the embedded pass is enough; the chats
# across the broker run on both stacks (tests/conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.stack_free]

PAGES = [("sv", "ltr"), ("en", "ltr"), ("ar", "rtl")]


@pytest.fixture
def server(
    request: pytest.FixtureRequest, empty_database: Database, tmp_path: Path
) -> Iterator[Server]:
    """The default test server, or (``closed``) one open only on Tuesdays 03:00-03:01 that
    refuses joins while nobody is on duty."""
    env: dict[str, str] = {"VH_QUICK_EXIT_URL": EXIT_PATH}
    if getattr(request, "param", "default") == "closed":
        hours = tmp_path / "opening-hours.json"
        weekly = {"tue": [["03:00", "03:01"]]}
        hours.write_text(json.dumps({"timezone": "Europe/Stockholm", "weekly": weekly}), "utf-8")
        env |= {"VH_OPENING_HOURS_FILE": str(hours), "VH_REFUSE_WHEN_UNSTAFFED": "true"}
    srv = start_server(empty_database, tmp_path, **env)
    try:
        yield srv
    finally:
        srv.stop()


def _no_traces(page: Any) -> None:
    """Nothing on the device: no cookie, no storage, no IndexedDB database."""
    assert page.context.cookies() == []
    left = page.evaluate(
        """async () => ({
            cookie: document.cookie,
            local: localStorage.length,
            session: sessionStorage.length,
            databases: (await indexedDB.databases()).length,
        })"""
    )
    assert left == {"cookie": "", "local": 0, "session": 0, "databases": 0}


@pytest.mark.parametrize(("lang", "direction"), PAGES)
def test_every_youth_page_has_its_language_in_the_path(
    contexts: Contexts, server: Server, shot: Any, lang: str, direction: str
) -> None:
    page = contexts.page()
    page.set_viewport_size({"width": 360, "height": 640})
    for path in (f"/{lang}/", f"/{lang}/chat"):
        page.goto(server.base_url + path)
        html = page.locator("html")
        expect(html).to_have_attribute("lang", lang)
        expect(html).to_have_attribute("dir", direction)
        assert page.evaluate("getComputedStyle(document.body).direction") == direction
        assert page.url == server.base_url + path
        shot(page, "house" if path.endswith("/") else "chat")
        assert_accessible(page, path)
        _no_traces(page)
    # The triage language defaults to the page's; the young person may still change it.
    expect(page.locator("#triage-language")).to_have_value(lang)


def test_the_picker_leads_to_the_same_page_in_another_language(
    contexts: Contexts, server: Server, shot: Any
) -> None:
    page = contexts.page()
    page.goto(server.base_url + "/")
    assert page.url == server.base_url + "/sv/"  # the default, by redirect, no cookie
    expect(page.get_by_role("heading", level=1)).to_have_text("Virtual House")
    page.get_by_role("link", name="Chatta med en kurator").click()
    expect(page).to_have_url(server.base_url + "/sv/chat")
    nav = page.get_by_role("navigation", name="Läs sidan på")
    arabic = nav.get_by_role("link", name="العربية")
    expect(arabic).to_have_attribute("lang", "ar")
    expect(nav.get_by_role("link", name="Svenska")).to_have_attribute("aria-current", "page")
    arabic.click()
    expect(page).to_have_url(server.base_url + "/ar/chat")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("button", name="ابدأ المحادثة")).to_be_visible()
    shot(page, "ar-chat")
    _no_traces(page)


@pytest.mark.parametrize("server", ["closed"], indirect=True)
@pytest.mark.parametrize(
    ("lang", "closed", "weekday"),
    [
        ("sv", "Chatten är stängd just nu", "tisdag 03:00"),
        ("en", "The chat is closed right now", "Tuesday 03:00"),
        ("ar", "المحادثة مغلقة الآن", "الثلاثاء 03:00"),
    ],
)
def test_a_closed_refusal_names_the_weekday_in_the_pages_language(
    contexts: Contexts, server: Server, shot: Any, lang: str, closed: str, weekday: str
) -> None:
    page = contexts.page()
    page.set_viewport_size({"width": 360, "height": 640})
    page.goto(server.base_url + f"/{lang}/chat")
    page.locator("#kind-youth").check()
    page.locator("#danger-no").check()
    page.locator("[data-triage] button[type=submit]").click()
    status = page.locator("[data-refusal]")
    expect(status).to_be_focused()
    expect(status).to_contain_text(closed)
    expect(status).to_contain_text(weekday)
    expect(status).to_contain_text("112")
    shot(page, "closed")
    assert_accessible(page, f"closed refusal, {lang}")
    _no_traces(page)


@pytest.fixture
def counsellor_ar(server: Server) -> StaffAccount:
    return staff_account(server, "counsellor-ar", "Layla", languages=["ar", "sv"])


#: What the chat says in each language, and on which side the own bubble sits.
CHAT = {
    "sv": {
        "start": "Starta chatten",
        "queue": "Du är nummer 1 i kön",
        "connected": "Ansluten. Du pratar med Layla.",
        "box": "Meddelande",
        "send": "Skicka",
        "you": "Du: ",
        "end": "Avsluta chatten",
        "yes_end": "Ja, avsluta chatten",
        "ended": "Du avslutade chatten.",
        "mine": "Hej, jag behöver prata med någon.",
    },
    "ar": {
        "start": "ابدأ المحادثة",
        "queue": "أنت رقم 1 في قائمة الانتظار",
        "connected": "تم الاتصال. أنت تتحدث مع Layla.",
        "box": "الرسالة",
        "send": "إرسال",
        "you": "أنت: ",
        "end": "إنهاء المحادثة",
        "yes_end": "نعم، أنهِ المحادثة",
        "ended": "أنهيت المحادثة.",
        "mine": "مرحبا، أحتاج إلى التحدث مع أحد.",
    },
}


@pytest.mark.parametrize(("lang", "direction"), [("sv", "ltr"), ("ar", "rtl")])
def test_a_whole_chat_in_the_pages_language_and_direction(
    contexts: Contexts,
    server: Server,
    counsellor_ar: StaffAccount,
    shot: Any,
    lang: str,
    direction: str,
) -> None:
    words = CHAT[lang]
    youth = contexts.page()
    youth.set_viewport_size({"width": 360, "height": 640})
    youth.goto(server.base_url + f"/{lang}/chat")
    expect(youth.locator("#triage-language")).to_have_value(lang)
    youth.locator("#kind-youth").check()
    youth.locator("#danger-no").check()
    shot(youth, "triage")
    youth.get_by_role("button", name=words["start"]).click()
    expect(youth.locator("[data-queue-status]")).to_contain_text(words["queue"])
    shot(youth, "queue")

    staff = contexts.page()
    open_console(staff, server, counsellor_ar)
    panel = staff.locator("[data-chat]")
    expect(panel).to_have_count(1)
    expect(youth.get_by_text(words["connected"])).to_be_visible()
    box = youth.get_by_role("textbox", name=words["box"])
    expect(box).to_be_enabled()
    box.fill(words["mine"])
    youth.get_by_role("button", name=words["send"]).click()
    send(staff, "مرحبا، أنا ليلى. كيف يمكنني مساعدتك؟", panel)
    log = youth.locator("[role=log]").first
    expect(log.locator(".message-body")).to_have_count(2)
    expect(youth.locator(".message-pending")).to_have_count(0)
    own = log.locator(".message-own").first
    other = log.locator(".message-other").first
    expect(own.locator(".message-who")).to_have_text(words["you"])
    assert own.evaluate("e => getComputedStyle(e).direction") == direction
    mine, theirs = own.bounding_box(), other.bounding_box()
    assert mine is not None
    assert theirs is not None
    exit_box = youth.locator("[data-quick-exit]").bounding_box()
    assert exit_box is not None
    if direction == "rtl":
        # Own messages sit on the inline-end side: the left in Arabic, the counsellor's on the
        # right; the exit button is at the inline end too (top left).
        assert mine["x"] + 20 < theirs["x"]
        assert mine["x"] + mine["width"] + 20 < theirs["x"] + theirs["width"]
        assert exit_box["x"] < 100
    else:
        assert theirs["x"] + 20 < mine["x"]
        assert theirs["x"] + theirs["width"] + 20 < mine["x"] + mine["width"]
        assert exit_box["x"] > 200
    shot(youth, "chat")
    assert_accessible(youth, f"chat, {lang}")

    youth.get_by_role("button", name=words["end"]).click()
    youth.get_by_role("button", name=words["yes_end"]).click()
    expect(youth.get_by_text(words["ended"])).to_be_visible()
    shot(youth, "ended")
    _no_traces(youth)
