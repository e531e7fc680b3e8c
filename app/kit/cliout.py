"""How every ``vhouse`` command speaks: results on stdout, refusals as one ``vhouse: …`` line
on stderr, listings as a table for people or JSON lines (``--json``) for scripts.

Exit codes: 0 done, 1 a check found something wrong (or there was nothing to do where the
operator asked for a change), 2 refused (bad input, unreachable service or database).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: The exit code of a refusal: usage, input, configuration, an unreachable dependency.
REFUSED = 2
#: The exit code of a check that failed, or of a change that found nothing to change.
CHECK_FAILED = 1


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def fail(text: str, code: int = REFUSED) -> int:
    """Say why on one line of stderr; returns ``code`` for the command to exit with."""
    sys.stderr.write(f"vhouse: {text}\n")
    sys.stderr.flush()
    return code


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> list[str]:
    """``rows`` as aligned text lines under a header of ``columns`` (None shows as ``-``,
    booleans as yes/no); numbers are right-aligned."""
    rows = list(rows)
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    numeric = [
        bool(rows)
        and all(isinstance(r.get(c), int | float) and not isinstance(r.get(c), bool) for r in rows)
        for c in columns
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return [line(list(columns)), *(line(r) for r in cells)]


def listing(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *, as_json: bool) -> None:
    """Print ``rows``: one JSON object a line with ``as_json``, otherwise ``table``."""
    if as_json:
        for row in rows:
            out(json.dumps(row, ensure_ascii=False))
        return
    for text in table(rows, columns):
        out(text)
