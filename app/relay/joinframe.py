"""The ``join`` frame (PROTOCOL.md §2.1): the triage answers, and the page's public signing key.

``sig_key`` is the 65-byte uncompressed P-256 point of the key pair the young person's page
made for this conversation (PROTOCOL.md §6.7). The server stores it with the ticket at join,
before any counsellor is paired, and nothing can change it afterwards; it checks only its
shape: the export and the console verify the envelope signatures made with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from app.kit.b64 import is_b64url
from app.kit.errors import ProtocolError
from app.triage.questions import ANSWER_ID_MAX, Triage

LANGUAGE_MAX: Final = 8
#: An uncompressed P-256 point: 0x04 ‖ x ‖ y.
SIG_KEY_BYTES: Final = 65


@dataclass(frozen=True, slots=True)
class Join:
    triage: Triage
    #: The page's public signing key (base64url), or None from a client that does not sign:
    #: then that conversation's young person's messages show as "sender not verifiable".
    sig_key: str | None = None


def _sig_key(obj: dict[str, Any]) -> str | None:
    value = obj.get("sig_key")
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not is_b64url(value, nbytes=SIG_KEY_BYTES)
        or not value.startswith("B")  # 0x04, an uncompressed point
    ):
        raise ProtocolError("bad_frame", "sig_key must be a 65-byte P-256 point in base64url")
    return value


def parse_join(obj: dict[str, Any]) -> Join:
    triage = obj.get("triage")
    if not isinstance(triage, dict):
        raise ProtocolError("bad_triage", "join needs a triage object")
    language, kind, danger = triage.get("language"), triage.get("kind"), triage.get("danger_now")
    if not isinstance(language, str) or not 2 <= len(language) <= LANGUAGE_MAX:
        raise ProtocolError("bad_triage", "language must be a language code such as 'sv'")
    if not language.replace("-", "").isascii() or not language.replace("-", "").isalpha():
        raise ProtocolError("bad_triage", "language must be a language code such as 'sv'")
    if kind not in ("youth", "professional"):
        raise ProtocolError("bad_triage", "kind must be 'youth' or 'professional'")
    if not isinstance(danger, bool):
        raise ProtocolError("bad_triage", "danger_now must be true or false")
    return Join(
        Triage(
            language=language.lower(),
            kind=kind,
            danger_now=danger,
            topic=_answer_id(triage, "topic"),
            age_band=_answer_id(triage, "age_band"),
        ),
        _sig_key(obj),
    )


def _answer_id(triage: dict[str, Any], name: str) -> str | None:
    """An optional answer: absent or null, or an option id (1-32 of a-z, 0-9, '_')."""
    value = triage.get(name)
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= ANSWER_ID_MAX
        or not value.isascii()
        or not value.replace("_", "").isalnum()
        or value.lower() != value
    ):
        raise ProtocolError("bad_triage", f"{name} must be an option id of the question, or null")
    return value
