"""Known-answer vectors for the crypto tests.

- ``REFERENCE``: the requirements' ``vectors/crypto-v1.json`` (beside the repository);
- ``rfc9180-a3.json``: RFC 9180 A.3.1, base mode (see its "about");
- ``v1.json``: the project golden file, written by ``make_v1.py`` from fixed keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
#: The requirements folder sits beside the repository (locally and in CI).
REFERENCE_PATH = HERE.parents[2] / "shared" / "vectors" / "crypto-v1.json"
RFC9180_A3_PATH = HERE / "rfc9180-a3.json"
GOLDEN_PATH = HERE / "v1.json"


def load(path: Path) -> dict[str, Any]:
    if not path.exists():
        pytest.fail(f"vectors missing: {path}")
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data
