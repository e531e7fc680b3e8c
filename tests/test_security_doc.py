"""docs/SECURITY.md cannot rot: every R-id of ../shared/SECURITY.md has a row there, and every
test a row names exists and names that R-id in its docstring.

``../shared`` (beside the checkout; CI has it) holds the requirements. Without it the R-ids
cannot be known, and the test that needs them is skipped saying so; the tests named in the doc
are checked either way.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOC = ROOT / "docs" / "SECURITY.md"
REQUIREMENTS = ROOT.parent / "shared" / "SECURITY.md"

#: A requirement's definition in ../shared/SECURITY.md: "- **R-9** TOTP …".
DEFINED = re.compile(r"\*\*(R-\d+)\*\*")
#: A row of docs/SECURITY.md's tables: "| R-9 | … | `tests/…::test_…`<br>… |".
ROW = re.compile(r"^\|\s*(R-\d+)\s*\|(.*)\|\s*$")
NAMED = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
NOT_PROVEN = "**Not proven:**"


def _rows() -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in DOC.read_text("utf-8").splitlines():
        if match := ROW.match(line):
            rid, rest = match.groups()
            assert rid not in rows, f"{rid} has two rows in docs/SECURITY.md"
            rows[rid] = rest
    return rows


def _docstring_of(path: Path, name: str) -> str | None:
    """The docstring of test ``name`` in ``path``: the function's own, or the module's for a
    test bound by assignment (a Hypothesis state machine's ``TestCase``); None if not there."""
    tree = ast.parse(path.read_text("utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return ast.get_docstring(node) or ""
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return ast.get_docstring(tree) or ""
    return None


def test_every_requirement_has_a_row() -> None:
    """Every R-id of ../shared/SECURITY.md is in docs/SECURITY.md with a test, or marked."""
    if not REQUIREMENTS.exists():
        pytest.skip(f"{REQUIREMENTS} is absent: the R-ids to check against are not here")
    defined = set(DEFINED.findall(REQUIREMENTS.read_text("utf-8")))
    assert defined, f"no **R-n** definitions found in {REQUIREMENTS}"
    rows = _rows()
    missing = sorted(defined - rows.keys(), key=lambda r: int(r[2:]))
    assert not missing, f"docs/SECURITY.md has no row for {', '.join(missing)}"
    unknown = sorted(rows.keys() - defined, key=lambda r: int(r[2:]))
    assert not unknown, f"docs/SECURITY.md has rows for R-ids that do not exist: {unknown}"
    for rid, row in rows.items():
        assert NAMED.search(row) or NOT_PROVEN in row, f"{rid} names no test and no gap"


def test_every_named_test_exists_and_names_its_requirement() -> None:
    """Each ``tests/…::name`` in a row is a test of that file whose docstring names the R-id."""
    rows = _rows()
    assert rows, "docs/SECURITY.md has no requirement rows"
    problems = []
    for rid, row in rows.items():
        for file, name in NAMED.findall(row):
            path = ROOT / file
            if not path.is_file():
                problems.append(f"{rid}: {file} does not exist")
                continue
            docstring = _docstring_of(path, name)
            if docstring is None:
                problems.append(f"{rid}: {file}::{name} does not exist")
            elif not re.search(rf"\b{rid}\b", docstring):
                problems.append(f"{rid}: {file}::{name}'s docstring does not name {rid}")
    assert not problems, "\n".join(problems)


def test_the_doc_links_the_threat_model_and_says_how_to_report() -> None:
    text = DOC.read_text("utf-8")
    assert "](THREAT-MODEL.md)" in text
    assert (ROOT / "docs" / "THREAT-MODEL.md").is_file()
    assert "## 2. Reporting a vulnerability" in text
    assert "## 3. Limits" in text
