"""The pure rules of canned replies (app/canned/engine.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.canned import engine
from app.canned.engine import BadReply, Draft

LANGUAGES = ("sv", "en", "ar")


def test_a_reply_is_normalised() -> None:
    checked = engine.check(
        Draft("sv", "  safety\t plan ", "\r\n Hej!\r\nHur mår du? \n"), LANGUAGES
    )
    assert checked == Draft("sv", "safety plan", "Hej!\nHur mår du?")
    assert checked.key == engine.check(Draft("sv", "SAFETY PLAN", "x"), LANGUAGES).key


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (Draft("klingon", "hej", "secret words"), "language"),
        (Draft("", "hej", "secret words"), "language"),
        (Draft("sv", "", "secret words"), "title"),
        (Draft("sv", "   ", "secret words"), "title"),
        (Draft("sv", "x" * 41, "secret words"), "title"),
        (Draft("sv", "two\nlines", "secret words"), "title"),
        (Draft("sv", "bell\x07", "secret words"), "title"),
        (Draft("sv", "hej", ""), "body"),
        (Draft("sv", "hej", " \n\t "), "body"),
        (Draft("sv", "hej", "x" * 2001), "body"),
        (Draft("sv", "hej", "null\x00byte"), "body"),
    ],
)
def test_bad_replies_are_refused_naming_the_field(draft: Draft, field: str) -> None:
    with pytest.raises(BadReply) as refused:
        engine.check(draft, LANGUAGES)
    assert refused.value.field == field
    # The message never repeats what was written.
    assert "secret words" not in str(refused.value)


def test_the_longest_reply_fits() -> None:
    checked = engine.check(Draft("ar", "\u0633" * 40, "\u0628" * 2000), LANGUAGES)
    assert (len(checked.title), len(checked.body)) == (40, 2000)


def test_a_file_with_two_equal_titles_in_a_language_is_refused() -> None:
    drafts = [Draft("sv", "Hej", "a"), Draft("en", "hej", "b"), Draft("sv", "HEJ", "c")]
    with pytest.raises(BadReply, match="reply 3"):
        engine.check_all(drafts, LANGUAGES)
    with pytest.raises(BadReply, match="reply 2: language"):
        engine.check_all([Draft("sv", "a", "b"), Draft("xx", "a", "b")], LANGUAGES)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "text",
        {"replies": "no"},
        {"other": []},
        [{"language": "sv", "title": "a"}],
        [{"language": "sv", "title": "a", "body": 3}],
        ["a"],
    ],
)
def test_a_bad_file_is_refused(raw: object) -> None:
    with pytest.raises(BadReply) as refused:
        engine.parse_file(raw)
    assert refused.value.field == "file"


text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40)


@given(
    st.lists(
        st.builds(
            Draft, st.sampled_from(LANGUAGES), text.filter(str.strip), text.filter(str.strip)
        ),
        max_size=8,
        unique_by=lambda d: (d.language, engine.title_key(" ".join(d.title.split()))),
    )
)
def test_export_then_import_gives_the_same_replies(drafts: list[Draft]) -> None:
    checked = engine.check_all(drafts, LANGUAGES)
    again = engine.check_all(engine.parse_file(engine.export_file(checked)), LANGUAGES)
    assert sorted(again, key=lambda d: (d.language, d.key)) == sorted(
        checked, key=lambda d: (d.language, d.key)
    )
