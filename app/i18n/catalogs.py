"""The gettext catalogs of the youth pages (SAFETY S-19, docs/TRANSLATING.md).

Every ``app/i18n/locales/<code>/LC_MESSAGES/messages.po`` is a language: read with Babel's
``read_po`` and compiled in memory with ``write_mo`` into a ``gettext.GNUTranslations`` at start,
so there is no build step and no ``.mo`` file in the repository. A language's name (in itself)
and its writing direction come from Babel's CLDR data, so adding Persian (``fa``), Sorani
(``ckb``), Somali (``so``) or Tigrinya (``ti``) is ``pybabel init`` and translating: no code.

The strings the youth JavaScript needs are the catalog entries whose source locations are
``.js`` files (``pybabel update`` keeps the locations of ``messages.pot``); they are handed to
the page as a JSON catalog (``frontend/static/js/i18n.js``).
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DEFAULT_LOCALE = "sv"
DOMAIN = "messages"


@dataclass(frozen=True)
class Language:
    """One catalog: its code (``sv``), its name in itself, ``ltr``/``rtl``, and the strings."""

    code: str
    name: str
    dir: str
    translations: gettext.GNUTranslations
    #: msgid -> msgstr of the entries the youth JavaScript uses (untranslated: the msgid); a
    #: plural entry is its singular msgid -> every form, in the catalog's order.
    script_catalog: dict[str, str | list[str]]
    #: The catalog's plural rule (``Plural-Forms``' C expression), for the scripts' ngettext.
    plural_expr: str = "(n != 1)"

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)


def read_catalog(path: Path, code: str) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=code, domain=DOMAIN)


def compile_catalog(catalog: Catalog) -> gettext.GNUTranslations:
    """The catalog as ``GNUTranslations``, compiled in memory (fuzzy entries are left out)."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _plural_forms(message_id: tuple[str, ...], string: object, count: int) -> list[str]:
    """Every form of a plural entry; an untranslated one is English's singular and plural."""
    forms = [str(s) for s in string] if isinstance(string, (list, tuple)) else []
    if len(forms) != count or not all(forms):
        return [message_id[0], *([message_id[1]] * (count - 1))] if count > 1 else [message_id[0]]
    return forms


def script_catalog(catalog: Catalog) -> dict[str, str | list[str]]:
    """The entries used by a ``.js`` file, msgid -> translation (the msgid when untranslated);
    a plural entry is keyed by its singular, with the list of its forms."""
    found: dict[str, str | list[str]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if not any(str(where).endswith(".js") for where, _ in message.locations):
            continue
        if isinstance(message.id, (list, tuple)):
            found[str(message.id[0])] = _plural_forms(
                tuple(str(i) for i in message.id), message.string, catalog.num_plurals
            )
        elif isinstance(message.id, str):
            found[message.id] = str(message.string) if message.string else message.id
    return found


def language_name(code: str) -> str:
    """The language's name in itself, capitalised where the script has capitals."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def load_language(path: Path, code: str) -> Language:
    catalog = read_catalog(path, code)
    direction = Locale.parse(code).text_direction
    return Language(
        code=code,
        name=language_name(code),
        dir="rtl" if direction == "rtl" else "ltr",
        translations=compile_catalog(catalog),
        script_catalog=script_catalog(catalog),
        plural_expr=catalog.plural_expr,
    )


@cache
def languages(root: Path = LOCALES_DIR) -> dict[str, Language]:
    """Every catalog present, the default (Swedish) first, then by code."""
    found = {
        path.parent.parent.name: path
        for path in root.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
        if path.is_file()
    }
    order = sorted(found, key=lambda code: (code != DEFAULT_LOCALE, code))
    return {code: load_language(found[code], code) for code in order}


def language(code: str) -> Language | None:
    """The language with this code, or None when there is no catalog for it."""
    return languages().get(code)
