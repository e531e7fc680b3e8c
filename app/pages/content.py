"""The house pages' text: Markdown files per language, rendered once at start (issue 12 §2).

``content/pages/<code>/<slug>.md`` (docs/EDITING-PAGES.md) is read with markdown-it-py's
CommonMark preset and **raw HTML disabled**: a ``<script>`` or ``<img>`` typed into a file is
shown as text. Images are not rendered at all (a page never loads anything from another
origin, SAFETY S-13). Links may lead only to our own pages (a relative address such as
``/sv/hours``), a phone number (``tel:112``) or an ``https://`` page, which gets
``rel="noreferrer"``; any other link (``http:``, ``mailto:``, ``javascript:``, ``//host``) is
shown as its text without a link.

Two kinds of placeholder are filled per request (the values can change while running):

- a paragraph that is only ``{opening_hours}``, ``{helplines}`` or ``{emergency_call}`` becomes
  a *block* rendered by the page's template (the configured hours, the centre's helplines, a
  large "Call 112" button);
- ``{retention_days}`` and ``{professional_retention_days}`` inside text become the numbers of
  the retention settings.

Rendering is pure: ``render`` takes Markdown text and returns segments; ``load`` reads the files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markupsafe import Markup

CONTENT_DIR: Final = Path(__file__).resolve().parent.parent.parent / "content" / "pages"
#: The house pages, in the order of the site navigation; ``start`` is ``/<code>/``. Slugs are
#: neutral words: an address lands in the browser history (SAFETY S-11).
SLUGS: Final = (
    "start",
    "chat-info",
    "rights",
    "professionals",
    "urgent",
    "hours",
    "about",
    "privacy",
)
BLOCKS: Final = frozenset({"opening_hours", "helplines", "emergency_call"})
INLINE: Final = frozenset({"retention_days", "professional_retention_days"})
_BLOCK = re.compile(r"<p>\{(" + "|".join(sorted(BLOCKS)) + r")\}</p>\n?")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class InvalidPage(ValueError):
    """A page file that cannot be served (unknown placeholder, missing heading)."""


@dataclass(frozen=True, slots=True)
class Segment:
    """Rendered HTML (``html``), or the name of a block the template renders (``block``)."""

    html: Markup | None = None
    block: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    slug: str
    code: str
    segments: tuple[Segment, ...]

    def filled(self, values: Mapping[str, int]) -> tuple[Segment, ...]:
        """The segments with the inline placeholders replaced by ``values`` (numbers only)."""
        out: list[Segment] = []
        for segment in self.segments:
            if segment.html is None:
                out.append(segment)
                continue
            text = str(segment.html)
            for name in INLINE:
                text = text.replace("{" + name + "}", str(int(values[name])))
            out.append(Segment(html=Markup(text)))  # noqa: S704 - rendered with html off
        return tuple(out)


def allowed_link(href: str) -> bool:
    """Our own pages (relative), ``tel:`` numbers and ``https://`` pages; nothing else."""
    if href.startswith("tel:"):
        return re.fullmatch(r"tel:\+?[0-9]{2,20}", href) is not None
    if href.startswith("https://"):
        return True
    if href.startswith("//") or href.startswith("\\"):
        return False  # another host, without saying so
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", href) is None


def _link_policy(state: StateCore) -> None:
    """Drop links that are not allowed (keeping their text); external ones get noreferrer."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        kept: list[Token] = []
        dropping: list[bool] = []
        for token in block.children:
            if token.type == "link_open":
                href = str(token.attrGet("href") or "")
                drop = not allowed_link(href)
                dropping.append(drop)
                if drop:
                    continue
                if href.startswith("https://"):
                    token.attrSet("rel", "noreferrer")
                if href.startswith("tel:"):
                    token.attrSet("dir", "ltr")
            elif token.type == "link_close":
                if dropping and dropping.pop():
                    continue
            kept.append(token)
        block.children = kept


@cache
def markdown() -> MarkdownIt:
    """CommonMark with raw HTML off, no images, and the link policy above."""
    md = MarkdownIt("commonmark", {"html": False})
    md.disable("image")
    md.core.ruler.push("vh_link_policy", _link_policy)
    return md


def render(text: str, *, slug: str = "", code: str = "") -> Page:
    """One page's Markdown as segments. Raises ``InvalidPage``."""
    html = markdown().render(text)
    if not html.startswith("<h1>"):
        raise InvalidPage(f"{code}/{slug}.md: the page must start with a '# Heading'")
    for name in _PLACEHOLDER.findall(_BLOCK.sub("", html)):
        if name not in INLINE:
            raise InvalidPage(f"{code}/{slug}.md: unknown placeholder {{{name}}}")
    segments: list[Segment] = []
    at = 0
    for found in _BLOCK.finditer(html):
        if found.start() > at:
            segments.append(Segment(html=Markup(html[at : found.start()])))  # noqa: S704
        segments.append(Segment(block=found.group(1)))
        at = found.end()
    if at < len(html):
        segments.append(Segment(html=Markup(html[at:])))  # noqa: S704 - html is off
    return Page(slug=slug, code=code, segments=tuple(segments))


def load(codes: Sequence[str], root: Path = CONTENT_DIR) -> dict[tuple[str, str], Page]:
    """Every ``<code>/<slug>.md`` there is, rendered; ``(code, slug)`` -> page. A language
    without a file for a slug is left out (the caller falls back to the default language)."""
    found: dict[tuple[str, str], Page] = {}
    for code in codes:
        for slug in SLUGS:
            path = root / code / f"{slug}.md"
            if path.is_file():
                found[(code, slug)] = render(path.read_text("utf-8"), slug=slug, code=code)
    return found
