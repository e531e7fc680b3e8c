"""A ``Transcript`` as JSON or as text for people. Pure: strings in, strings out.

Message text is the young person's and the counsellor's own: control characters and bidi
overrides in it are shown escaped (``\\u001b``), so that a message cannot drive the terminal it
is printed on or disguise the lines around it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, Final

from app.transcripts.engine import NOT_READABLE, Gap, Message, SegmentReport, Transcript
from app.transcripts.senders import label as sender_label
from app.transcripts.signatures import NOT_COVERED, SIGNED

FORMAT: Final = "vh-transcript/1"
ROLE_NAMES: Final = {"Y": "young person", "C": "counsellor"}
# C0 and C1 controls but newline, DEL, the line and paragraph separators, and the bidi
# embeddings, overrides and isolates. ``json.dumps`` escapes C0 itself.
_UNSAFE_IN_TEXT: Final = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_UNSAFE_IN_JSON: Final = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def safe_text(text: str) -> str:
    """``text`` with controls (except newline) and bidi controls written as ``\\uXXXX``."""
    return _UNSAFE_IN_TEXT.sub(_escape, text)


def _when(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _sent_at(body: dict[str, Any]) -> str:
    """The sender's own clock (unix ms in the message), or ``?`` when it is missing or odd."""
    millis = body.get("sent_at")
    if isinstance(millis, bool) or not isinstance(millis, int | float):
        return "?"
    try:
        return _when(millis / 1000) or "?"
    except (OverflowError, OSError, ValueError):
        return "?"


def warning(transcript: Transcript) -> str | None:
    """The loud warning for segments no certified device accepted, or ``None``."""
    unverified = [s for s in transcript.segments if s.status == "unverified"]
    if not unverified:
        return None
    listed = "; ".join(f"segment {s.seg}: {s.reason}" for s in unverified)
    return (
        "NOT VERIFIED: no certified counsellor device accepted part of this transcript "
        f"({listed}). Whoever can write to the database could have made these messages up."
    )


# ---------------------------------------------------------------------- JSON


def to_json(transcript: Transcript) -> str:
    """The transcript as one JSON document (UTF-8 text, unsafe characters escaped)."""
    document = {
        "format": FORMAT,
        "conversation": transcript.conversation_id,
        "opened_at": transcript.opened_at,
        "closed_at": transcript.closed_at,
        "period": {"period_id": transcript.period_id, "fingerprint": transcript.period_fingerprint},
        "exported_at": transcript.exported_at,
        "verified": not transcript.unverified_segments,
        "warning": warning(transcript),
        "unsigned_messages": transcript.unsigned,
        "not_from_youth_page": transcript.not_from_youth_page,
        "segments": [_segment_json(s) for s in transcript.segments],
        "messages": [_message_json(m) for m in transcript.messages],
        "gaps": [
            {"seg": g.seg, "role": g.role, "inst": g.inst, "after": g.after, "next": g.next}
            for g in transcript.gaps
        ],
    }
    text = json.dumps(document, ensure_ascii=False, indent=2)
    # Inside JSON strings \uXXXX is the same character; outside them these never occur.
    return _UNSAFE_IN_JSON.sub(_escape, text) + "\n"


def _segment_json(report: SegmentReport) -> dict[str, Any]:
    return {
        "seg": report.seg,
        "status": report.status,
        "readable": report.readable,
        "verified": report.status == "verified",
        "note": None if report.readable else NOT_READABLE,
        "reason": report.reason or None,
        "device_id": report.device_id,
        "staff_id": report.staff_id,
        "envelopes": report.envelopes,
        "signature": report.signature,
        "signature_reason": report.signature_reason or None,
        "accept_time": report.accept_time,
    }


def _message_json(message: Message) -> dict[str, Any]:
    return {
        "stored_id": message.stored_id,
        "seg": message.seg,
        "role": message.role,
        "inst": message.inst,
        "seq": message.seq,
        "decrypted": message.body is not None,
        "body": message.body,
        "error": message.error,
        "signed": message.signed,
        "signature": SIGNED if message.signed else NOT_COVERED,
        "sender": message.sender,
        "sender_note": sender_label(message.sender),
    }


# ---------------------------------------------------------------------- text


def to_text(transcript: Transcript) -> str:
    """The transcript for reading: a header, the segments, then one line per message."""
    banner = warning(transcript)
    lines = [f"!!! {banner}", ""] if banner else []
    lines += [
        "Virtual House transcript",
        f"conversation: {transcript.conversation_id}",
        f"opened:       {_when(transcript.opened_at)}",
        f"closed:       {_when(transcript.closed_at) or 'still open'}",
        f"period key:   {transcript.period_id} ({transcript.period_fingerprint})",
        f"exported:     {_when(transcript.exported_at)}",
        f"messages:     {transcript.decrypted} decrypted, "
        f"{transcript.undecryptable} could not be decrypted",
        f"signatures:   {len(transcript.messages) - transcript.unsigned} {SIGNED}, "
        f"{transcript.unsigned} {NOT_COVERED}",
        f"young person: {_youth_summary(transcript)}",
        "",
        "segments:",
        *(_segment_line(s) for s in transcript.segments),
        "",
        "times are each sender's own clock; anyone holding a segment's key can write under",
        "either name: a message not covered by the counsellor device's signature may not be",
        "what the counsellor's device sent or received; a young person's message is theirs only",
        "when the young person's page signed it (the key it sent when it joined)",
        "",
    ]
    labels = _instance_labels(transcript.messages)
    lines += [_message_line(m, labels) for m in transcript.messages]
    if transcript.gaps:
        lines += ["", "missing from the store:"]
        lines += [
            f"  segment {g.seg}, {labels.get((g.role, g.inst), g.role)}: {_seq_range(g)}"
            for g in transcript.gaps
        ]
    if banner:
        lines += ["", f"!!! {banner}"]
    return "\n".join(lines) + "\n"


def _youth_summary(transcript: Transcript) -> str:
    """How many of the young person's messages their page signed, and how many it did not."""
    counts: dict[str, int] = {}
    for message in transcript.messages:
        if message.sender is not None:
            counts[message.sender] = counts.get(message.sender, 0) + 1
    parts = [
        f"{counts['verified']} written on their page" if "verified" in counts else "",
        f"{transcript.not_from_youth_page} NOT FROM THEIR PAGE"
        if transcript.not_from_youth_page
        else "",
        f"{counts['not_verifiable']} sender not verifiable" if "not_verifiable" in counts else "",
    ]
    return ", ".join(p for p in parts if p) or "no messages"


def _seq_range(gap: Gap) -> str:
    first, last = gap.after + 1, gap.next - 1
    return f"seq {first}" if first == last else f"seq {first}..{last}"


def _signature_text(report: SegmentReport) -> str:
    if report.signature == "signed":
        return "; transcript signed by that device"
    if report.signature is None:
        return ""
    return f"; transcript signature {report.signature} ({report.signature_reason})"


def _segment_line(report: SegmentReport) -> str:
    count = f"{report.envelopes} envelope{'' if report.envelopes == 1 else 's'}"
    signature = _signature_text(report)
    if report.status == "verified":
        return (
            f"  segment {report.seg}: accepted by device {report.device_id} "
            f"(staff {report.staff_id}), {count}{signature}"
        )
    if report.status == "unverified":
        return f"  segment {report.seg}: NOT VERIFIED ({report.reason}), {count}{signature}"
    return f"  segment {report.seg}: {NOT_READABLE} ({report.reason}), {count}"


def _instance_labels(messages: tuple[Message, ...]) -> dict[tuple[str, str], str]:
    """``young person 1``, ``counsellor 2``…: one label per sending instance (page load)."""
    labels: dict[tuple[str, str], str] = {}
    counts: dict[str, int] = {}
    for message in messages:
        key = (message.role, message.inst)
        if key not in labels:
            counts[message.role] = counts.get(message.role, 0) + 1
            name = ROLE_NAMES.get(message.role, message.role)
            labels[key] = f"{name} {counts[message.role]}"
    return labels


def _message_line(message: Message, labels: dict[tuple[str, str], str]) -> str:
    who = labels[(message.role, message.inst)]
    mark = "signed" if message.signed else NOT_COVERED.upper()
    # The young person's page signature is named only when it is not there: the header counts
    # both, and a line is marked when it needs a second look.
    sender = sender_label(message.sender) if message.sender not in (None, "verified") else None
    where = f"seg {message.seg} seq {message.seq}; {mark}" + (f"; {sender}" if sender else "")
    if message.body is None:
        return f"[?] {who} ({where}): [COULD NOT BE DECRYPTED: {message.error}]"
    body = message.body
    when = _sent_at(body)
    if body.get("type") == "text" and isinstance(body.get("body"), str):
        text = safe_text(body["body"]).replace("\n", "\n    ")
        return f"[{when}] {who} ({where}): {text}"
    kind = safe_text(str(body.get("type", "?")))
    return f"[{when}] {who} ({where}): ({kind})"
