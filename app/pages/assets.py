"""Static assets with Subresource Integrity computed once at start-up (R-13, CRYPTO.md §9).

Top-level tags carry ``integrity``; modules loaded by ``import`` are covered by an import map's
``integrity`` section. The import map is the only inline script: the CSP allows it by its hash.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

FRONTEND = Path(__file__).resolve().parent.parent.parent / "frontend"
STATIC = FRONTEND / "static"
TEMPLATES = FRONTEND / "templates"


def integrity_map(root: Path = STATIC) -> dict[str, str]:
    """``{"js/quickexit.js": "sha384-…"}`` for every script and stylesheet."""
    hashes: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix in (".js", ".css") and path.is_file():
            digest = hashlib.sha384(path.read_bytes()).digest()
            hashes[path.relative_to(root).as_posix()] = (
                "sha384-" + base64.b64encode(digest).decode()
            )
    return hashes


@dataclass(frozen=True)
class Assets:
    integrity: dict[str, str]
    #: The import map's JSON text, rendered verbatim into pages (its bytes are what is hashed).
    importmap: str
    #: CSP source expression allowing exactly that import map, e.g. ``'sha256-…'``.
    importmap_csp: str


@cache
def assets(root: Path = STATIC) -> Assets:
    integrity = integrity_map(root)
    scripts = {
        f"/static/{name}": value for name, value in integrity.items() if name.endswith(".js")
    }
    text = json.dumps({"imports": {}, "integrity": scripts}, separators=(",", ":"), sort_keys=True)
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return Assets(integrity, text, f"'sha256-{digest}'")
