"""The pure rules of canned replies: what a valid reply is, and the import/export file format.

No I/O: callers pass the centre's offered languages in, and get a normalised ``Draft`` back or
a ``BadReply`` naming the field (its message is safe to show; it never echoes the text).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

#: A shortcut counsellors type after ``/``: a word or two.
TITLE_MAX: Final = 40
#: As long as a chat message may be (the composer's ``maxlength``).
BODY_MAX: Final = 2000
#: Characters allowed in a body besides printable ones.
_BODY_CONTROLS: Final = frozenset("\n\t")


class BadReply(ValueError):
    """A reply that is not valid; ``field`` is ``language``, ``title``, ``body`` or ``file``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Draft:
    """A reply as an admin wrote it (before ``check``) or as it will be stored (after)."""

    language: str
    title: str
    body: str

    @property
    def key(self) -> str:
        """The shortcut two titles share when they differ only in case (unique per language)."""
        return title_key(self.title)


def title_key(title: str) -> str:
    return unicodedata.normalize("NFC", title).casefold()


def _has_control(text: str, allowed: frozenset[str] = frozenset()) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cs") and c not in allowed for c in text)


def check(draft: Draft, languages: Iterable[str]) -> Draft:
    """``draft`` normalised (NFC; title trimmed, inner runs of spaces and tabs as one space;
    body trimmed, line breaks as ``\\n``), or ``BadReply``: the language must be one the
    centre offers, the title 1-40 characters on one line, the body 1-2000 characters."""
    offered = tuple(languages)
    if draft.language not in offered:
        raise BadReply("language", f"not offered here; use one of {', '.join(offered)}")
    if _has_control(draft.title, frozenset(" \t")):
        raise BadReply("title", "one line of text, no control characters")
    title = " ".join(unicodedata.normalize("NFC", draft.title).split())
    if not title or len(title) > TITLE_MAX:
        raise BadReply("title", f"1-{TITLE_MAX} characters")
    body = unicodedata.normalize("NFC", draft.body).replace("\r\n", "\n").replace("\r", "\n")
    body = body.strip()
    if not body or len(body) > BODY_MAX:
        raise BadReply("body", f"1-{BODY_MAX} characters")
    if _has_control(body, _BODY_CONTROLS):
        raise BadReply("body", "text only: no control characters but line breaks and tabs")
    return Draft(draft.language, title, body)


def check_all(drafts: Iterable[Draft], languages: Iterable[str]) -> list[Draft]:
    """Every draft checked (``check``); ``BadReply`` for the first bad one (named by its place)
    or for two with the same title in one language."""
    offered = tuple(languages)
    checked: list[Draft] = []
    seen: set[tuple[str, str]] = set()
    for number, draft in enumerate(drafts, 1):
        try:
            good = check(draft, offered)
        except BadReply as exc:
            raise BadReply("file", f"reply {number}: {exc}") from None
        if (good.language, good.key) in seen:
            raise BadReply("file", f"reply {number}: a second {good.title!r} in {good.language}")
        seen.add((good.language, good.key))
        checked.append(good)
    return checked


# ---------------------------------------------------------------------- the file format


def parse_file(raw: object) -> list[Draft]:
    """The drafts of an import file: ``{"replies": [{"language","title","body"}, …]}`` as
    ``export_file`` writes it (a bare list is taken too). Unchecked: pass them to
    ``check_all``. ``BadReply`` (field ``file``) for anything else."""
    items = raw.get("replies") if isinstance(raw, Mapping) else raw
    if not isinstance(items, list):
        raise BadReply("file", 'a JSON object {"replies": [{"language", "title", "body"}, …]}')
    drafts = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, Mapping) or not all(
            isinstance(item.get(k), str) for k in ("language", "title", "body")
        ):
            raise BadReply("file", f"reply {number}: needs language, title and body as strings")
        drafts.append(Draft(item["language"], item["title"], item["body"]))
    return drafts


def export_file(drafts: Iterable[Draft]) -> dict[str, Any]:
    """The import file of ``drafts``, sorted by language and title (``parse_file`` reads it)."""
    ordered = sorted(drafts, key=lambda d: (d.language, d.key))
    return {
        "replies": [{"language": d.language, "title": d.title, "body": d.body} for d in ordered]
    }
