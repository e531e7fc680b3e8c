"""History after the quick exit (SAFETY S-4, S-8; issue 12 §4): moving between our pages
replaces the history entry, so after the exit's own replace nothing of ours is left to go Back
to, least of all the house page, which names violence and forced marriage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.conftest import Server
from tests.e2e.conftest import EXIT_PATH, Contexts

# The pages alone (their JavaScript and layout): the embedded pass is enough (tests/conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.stack_free]

#: Where the young person was before our site: not ours, and recognisable.
BEFORE = "data:text/html," + quote("<title>Before</title><p>a page before ours</p>")
#: Words of our pages that name what the service is about.
TOPIC_WORDS = ("våld", "tvångs", "gifta", "Virtual House", "kurator", "violence", "العنف")


def _names_the_topic(page: Any) -> bool:
    text = page.evaluate("document.documentElement.innerText")
    return any(word.lower() in text.lower() for word in TOPIC_WORDS)


def test_house_to_chat_adds_no_history_and_back_after_exit_reaches_nothing_of_ours(
    contexts: Contexts, server: Server, shot: Callable[[Any, str], None]
) -> None:
    page = contexts.page()
    page.goto(BEFORE)
    page.goto(server.base_url + "/sv/")
    assert _names_the_topic(page)
    length = page.evaluate("history.length")

    # The house page's link to the chat, the language links and back to the house: one entry.
    page.get_by_role("link", name="Chatta med en kurator").click()
    page.wait_for_url(server.base_url + "/sv/chat")
    assert page.evaluate("history.length") == length
    page.get_by_role("link", name="العربية").click()
    page.wait_for_url(server.base_url + "/ar/chat")
    assert page.evaluate("history.length") == length
    page.get_by_role("link", name="Svenska").click()
    page.wait_for_url(server.base_url + "/sv/chat")
    assert page.evaluate("history.length") == length

    # A chat started and waiting in the queue, then the exit.
    page.get_by_label("Jag är ung").check()
    page.get_by_label("Nej", exact=True).check()
    page.get_by_role("button", name="Starta chatten").click()
    expect(page.locator("[data-queue-status]")).not_to_have_text("")
    shot(page, "waiting-before-exit")
    page.locator("[data-quick-exit]").click()
    page.wait_for_url(server.base_url + EXIT_PATH)
    assert page.evaluate("history.length") == length

    # Back: the page from before our site, never one of ours.
    page.go_back()
    expect(page).to_have_title("Before")
    assert page.url.startswith("data:")
    assert not _names_the_topic(page)
    # And nothing of ours further back.
    page.go_back()
    assert not page.url.startswith(server.base_url)


def test_in_house_links_keep_working_without_javascript(browser: Any, server: Server) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(server.base_url + "/sv/")
        page.get_by_role("link", name="Chatta med en kurator").click()
        page.wait_for_url(server.base_url + "/sv/chat")
        page.get_by_role("link", name="English").click()
        page.wait_for_url(server.base_url + "/en/chat")
        # S-1: the exit is a plain link to the destination.
        page.locator("[data-quick-exit]").click()
        page.wait_for_url(server.base_url + EXIT_PATH)
    finally:
        context.close()


def test_a_click_that_opens_a_tab_is_left_to_the_browser(
    contexts: Contexts, server: Server
) -> None:
    page = contexts.page()
    page.goto(server.base_url + "/sv/")
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Chatta med en kurator").click(modifiers=["ControlOrMeta"])
    opened.value.wait_for_load_state()
    assert opened.value.url == server.base_url + "/sv/chat"
    assert page.url == server.base_url + "/sv/"
