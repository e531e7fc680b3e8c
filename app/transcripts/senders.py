"""Pure rules of the export's sender check (issue 13 (5), PROTOCOL.md §6.7).

Anyone holding a segment's key ``K`` can write an envelope under either role, and the
counsellor device's transcript signature (``signatures.py``) covers whatever that device held
when it signed, a forgery by the counsellor included. So each of the young person's messages is
also checked against the public key the young person's page sent in ``join`` (stored with the
ticket before any counsellor was paired): only an envelope signed with it is marked as written
on the young person's page. Counsellor messages are not checked here (``None``).
"""

from __future__ import annotations

from typing import Final, Literal

from app.crypto import youthsig
from app.kit import b64
from app.transcripts.engine import StoredEnvelope

SenderStatus = Literal[
    "verified",  # signed with the young person's page key
    "unsigned",  # no signature, though the page's key is known: not from that page
    "bad_signature",  # a signature that does not hold: not from that page
    "not_verifiable",  # no page key stored (a conversation from before, or an older client)
]
LABELS: Final[dict[str, str]] = {
    "verified": "written on the young person's page",
    "unsigned": "NOT FROM THE YOUNG PERSON'S PAGE (no signature)",
    "bad_signature": "NOT FROM THE YOUNG PERSON'S PAGE (the signature does not hold)",
    "not_verifiable": "sender not verifiable (no page key stored)",
}


def check(conv: bytes, youth_key: str | None, stored: StoredEnvelope) -> SenderStatus | None:
    """Whether the young person's page wrote this envelope; ``None`` for role C. Never
    raises for bad data."""
    e = stored.envelope
    if e.role != "Y":
        return None
    if youth_key is None:
        return "not_verifiable"
    if e.sig is None:
        return "unsigned"
    try:
        key, inst, ct, sig = (b64.decode(v) for v in (youth_key, e.inst, e.ct, e.sig))
    except ValueError:
        return "bad_signature"
    if youthsig.verify_envelope(key, conv, e.seg, inst, e.seq, ct, sig):
        return "verified"
    return "bad_signature"


def label(status: str | None) -> str | None:
    return None if status is None else LABELS[status]
