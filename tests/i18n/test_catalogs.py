"""The catalogs are complete: every youth-facing string in a youth template or youth JavaScript
module is extracted by Babel (babel.cfg), is in every catalog, and is translated there with its
placeholders kept. Fails when a string is added to a template or module without a translation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from app.i18n import catalogs
from app.i18n.dates import weekday_time

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}|<[^>]+>")


def _extracted() -> set[str]:
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


EXTRACTED = _extracted()


def test_the_extraction_finds_the_youth_strings() -> None:
    # Templates, the quick exit and the chat module are all read.
    assert {"Start chat", "Exit", "Information", "Connected. You are talking with {alias}."} <= (
        EXTRACTED
    )
    assert len(EXTRACTED) > 100


def test_swedish_english_and_arabic_are_there_swedish_first() -> None:
    found = catalogs.languages()
    assert next(iter(found)) == "sv"
    assert {"sv", "en", "ar"} <= set(found)
    assert (found["sv"].name, found["sv"].dir) == ("Svenska", "ltr")
    assert (found["ar"].name, found["ar"].dir) == ("العربية", "rtl")
    assert catalogs.language("xx") is None


@pytest.mark.parametrize("code", ["sv", "en", "ar"])
def test_every_extracted_string_is_translated_with_its_placeholders(code: str) -> None:
    path = catalogs.LOCALES_DIR / code / "LC_MESSAGES" / "messages.po"
    catalog = catalogs.read_catalog(path, code)
    missing = sorted(m for m in EXTRACTED if m not in catalog)
    assert not missing, f"{code}: not in the catalog (run the pybabel steps): {missing}"
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, f"{code}: fuzzy entry {message.id!r}"
        if isinstance(message.id, tuple):
            _check_plural(code, catalog.num_plurals, message.id, message.string)
            continue
        msgid = str(message.id)
        assert message.string, f"{code}: empty msgstr for {msgid!r}"
        want = sorted(PLACEHOLDER.findall(msgid))
        assert sorted(PLACEHOLDER.findall(str(message.string))) == want, (code, msgid)


def _check_plural(code: str, count: int, msgid: tuple[str, ...], forms: object) -> None:
    """A plural entry has every form of the language (Arabic: six), none empty; a form may
    leave the number out ("two messages" in Arabic is one word) but adds no placeholder."""
    assert isinstance(forms, tuple), (code, msgid)
    assert len(forms) == count, f"{code}: {len(forms)} forms, not {count}, for {msgid!r}"
    allowed = set(PLACEHOLDER.findall(msgid[1]))
    for form in forms:
        assert form, f"{code}: an empty plural form for {msgid!r}"
        assert set(PLACEHOLDER.findall(str(form))) <= allowed, (code, msgid, form)


@pytest.mark.parametrize("code", ["sv", "ar"])
def test_a_translation_really_differs_from_english(code: str) -> None:
    found = catalogs.languages()[code]
    assert found.gettext("Start chat") != "Start chat"
    assert found.script_catalog["You"] == found.gettext("You") != "You"


def test_a_plural_reaches_the_scripts_with_every_form_of_the_language() -> None:
    found = catalogs.languages()
    key = "{n} message could not be delivered."
    assert found["sv"].script_catalog[key] == [
        "{n} meddelande kunde inte levereras.",
        "{n} meddelanden kunde inte levereras.",
    ]
    arabic = found["ar"].script_catalog[key]
    assert isinstance(arabic, list)
    assert len(arabic) == 6
    assert found["ar"].plural_expr.startswith("(n == 0 ? 0 : n == 1 ? 1")
    assert found["sv"].plural_expr == "(n != 1)"


def test_the_script_catalog_holds_only_what_the_javascript_uses() -> None:
    script = catalogs.languages()["sv"].script_catalog
    assert script["Connecting…"] == "Ansluter…"
    assert "Start chat" not in script  # a template string only
    assert "A few questions first" not in script


def test_weekdays_and_times_come_from_babel_in_the_centres_timezone() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # a Tuesday, 09:00 in Stockholm
    assert weekday_time(at, "Europe/Stockholm", "sv") == "tisdag 09:00"
    assert weekday_time(at, "Europe/Stockholm", "en") == "Tuesday 09:00"
    assert weekday_time(at, "Europe/Stockholm", "ar") == "الثلاثاء 09:00"
    with pytest.raises(ValueError, match="timezone-aware"):
        weekday_time(datetime(2026, 12, 1, 8, 0), "Europe/Stockholm", "sv")


def test_a_new_language_needs_only_its_catalog(tmp_path: Path) -> None:
    """A translator's `pybabel init -l so` is enough: name and direction come from CLDR."""
    source = catalogs.LOCALES_DIR / "en" / "LC_MESSAGES" / "messages.po"
    for code in ("so", "fa"):
        target = tmp_path / code / "LC_MESSAGES"
        target.mkdir(parents=True)
        (target / "messages.po").write_bytes(source.read_bytes())
    found = catalogs.languages.__wrapped__(tmp_path)
    assert (found["so"].name, found["so"].dir) == ("Soomaali", "ltr")
    assert (found["fa"].name, found["fa"].dir) == ("فارسی", "rtl")


#: `_("…")` in the youth JavaScript, found without Babel: a call the extractor cannot read (in
#: a form it does not parse) would be missing from EXTRACTED, and so from every catalog.
JS_CALL = re.compile(r'\b_\(\s*"((?:[^"\\]|\\.)*)"\s*(?:[,)])')


def test_babel_reads_every_gettext_call_in_the_youth_javascript() -> None:
    js = ROOT / "frontend" / "static" / "js"
    files = [js / "i18n.js", js / "quickexit.js", *sorted((js / "youth").glob("*.js"))]
    files += sorted((js / "chat").glob("*.js"))
    for path in files:
        for literal in JS_CALL.findall(path.read_text("utf-8")):
            assert literal in EXTRACTED, f"{path.name}: {literal!r} is not extracted"
