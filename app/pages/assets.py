"""Static assets with Subresource Integrity hashes computed once at start-up (R-13)."""

from __future__ import annotations

import base64
import hashlib
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
