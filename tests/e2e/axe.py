"""WCAG 2.2 AA checks with axe-core (from npm, installed by scripts/check into tests/e2e/axe).

``assert_accessible(page, state)`` runs axe in the page as it is now, so a test calls it once per
state it brings a page into (logged out, on duty with chats, a form open…). The script is handed
to the page through the DevTools protocol (``page.evaluate``), which the pages' strict CSP does
not govern, so the pages need no exception for it. A violation fails with its rule, impact, help
text and the offending elements' selectors. On youth pages the best-practice ``region`` rule runs
as well (issue 12): nothing may sit outside a landmark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import unavailable

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
#: The rule sets of WCAG 2.0, 2.1 and 2.2, levels A and AA.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
#: Best-practice rules run on youth pages too (issue 12): all content inside landmarks.
YOUTH_EXTRA = ["region"]


def violations(page: Any) -> list[dict[str, Any]]:
    if not AXE.exists():
        unavailable(f"{AXE} missing: npm ci --prefix tests/e2e/axe (scripts/check does it)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text("utf-8"))
    youth = not urlsplit(page.url).path.startswith("/staff")
    found: list[dict[str, Any]] = page.evaluate(
        """async ([tags, extra]) => {
            const rules = Object.fromEntries(extra.map((id) => [id, {enabled: true}]));
            const result = await window.axe.run(document, {
                runOnly: {type: "tag", values: tags}, rules, resultTypes: ["violations"],
            });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
            }));
        }""",
        [WCAG_AA, YOUTH_EXTRA if youth else []],
    )
    return found


def assert_accessible(page: Any, state: str) -> None:
    found = violations(page)
    report = "\n".join(
        f"  {v['id']} ({v['impact']}): {v['help']} at {', '.join(v['nodes'])}" for v in found
    )
    assert not found, f"WCAG 2.2 AA violations in {state}:\n{report}"
