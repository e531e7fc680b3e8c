"""What the ``vhouse keys`` commands share: the service key's path, public keys given on the
command line, a period as one JSON line (output and refusals: ``app.kit.cliout``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.config import Settings
from app.keys import engine, files
from app.keys import service as keys_service
from app.kit import b64


def service_key_path(settings: Settings, override: Path | None = None) -> Path:
    path = override or settings.service_key_file
    if path is None:
        raise files.KeyFileError("no service key file: set VH_SERVICE_KEY_FILE (or pass --file)")
    return path


def public_point(text: str, what: str = "--public") -> bytes:
    """The 65-byte point of a base64url public key; ``ValueError`` unless it is on P-256."""
    try:
        point = b64.decode(text.strip())
    except ValueError:
        raise ValueError(f"{what} is not base64url") from None
    try:
        engine.check_public_point(point)
    except ValueError as exc:
        raise ValueError(f"{what} is {exc}") from None
    return point


def normalised(fingerprint: str) -> str:
    """Lowercase hex without separators, so that ``AB:CD``, ``abcd`` and ``ab cd`` compare."""
    return "".join(ch for ch in fingerprint.lower() if ch in "0123456789abcdef")


def period_json(period: keys_service.Period) -> dict[str, Any]:
    return {
        "period_id": period.period_id,
        "not_before": engine.day_of(period.not_before),
        "not_after": engine.day_of(period.not_after),
        "fingerprint": period.fingerprint,
        "destroyed": period.destroyed_at is not None,
    }
