"""Pure rules of the export: order, gaps, segment checks and rendering, without a database."""

from __future__ import annotations

import ast
import importlib.util
import json
import secrets
from dataclasses import replace
from pathlib import Path

import pytest

from app.chat.envelope import Envelope
from app.client.envelopes import Sender
from app.crypto import certs, hpke, sign
from app.crypto.certs import DeviceCert
from app.kit import b64
from app.transcripts import engine, render
from app.transcripts.engine import Message, SegmentInfo, StoredEnvelope, Transcript

CONV = secrets.token_bytes(16)


def _env(
    stored_id: int, seq: int, role: str = "Y", inst: str = "a", seg: int = 0
) -> StoredEnvelope:
    return StoredEnvelope(stored_id, Envelope("c", seg, role, inst, seq, ""))


def test_in_order_keeps_stored_order_between_streams_and_seq_order_within_one() -> None:
    a2, b1, a1, b2 = _env(1, 2), _env(2, 1, "C", "b"), _env(3, 1), _env(4, 2, "C", "b")
    assert engine.in_order([b2, a1, b1, a2]) == [a1, b1, a2, b2]


def test_find_gaps_reports_missing_starts_and_jumps_per_stream() -> None:
    envelopes = [_env(1, 2), _env(2, 3), _env(3, 7), _env(4, 1, "C", "b"), _env(5, 2, "C", "b")]
    assert engine.find_gaps(envelopes) == [
        engine.Gap(0, "Y", "a", 0, 2),
        engine.Gap(0, "Y", "a", 3, 7),
    ]


def test_unknown_segments_counts_envelopes_without_a_key_record() -> None:
    envelopes = [_env(1, 1), _env(2, 1, seg=3), _env(3, 2, seg=3)]
    (report,) = engine.unknown_segments(envelopes, [0])
    assert (report.seg, report.status, report.envelopes, report.readable) == (
        3,
        "no_segment",
        2,
        False,
    )


class _Setup:
    def __init__(self, *, not_after: int = 2_000_000_000) -> None:
        self.service = sign.generate_private_key()
        self.period = hpke.generate_private_key()
        self.period_id = secrets.token_bytes(16)
        self.hpke, self.sig = hpke.generate_private_key(), sign.generate_private_key()
        self.staff_id, self.device_id = secrets.token_bytes(16), secrets.token_bytes(16)
        self.key = secrets.token_bytes(32)
        cert = certs.issue_device_cert(
            self.service,
            self.staff_id,
            self.device_id,
            hpke.public_key_bytes(self.hpke),
            sign.public_key_bytes(self.sig),
            not_after,
        )
        self.device = DeviceCert(
            b64.encode(self.device_id),
            b64.encode(self.staff_id),
            b64.encode(hpke.public_key_bytes(self.hpke)),
            b64.encode(sign.public_key_bytes(self.sig)),
            not_after,
            b64.encode(cert),
        )

    def segment(self, *, created_at: float = 1_800_000_000.0) -> SegmentInfo:
        wrap = certs.seal_segment_key_to_period(
            hpke.public_key_bytes(self.period), self.key, CONV, 0, self.period_id
        )
        sig = certs.sign_acceptance(self.sig, CONV, 0, self.key)
        return SegmentInfo(
            0,
            b64.encode(self.device_id),
            b64.encode(self.period_id),
            b64.encode(wrap),
            b64.encode(sig),
            created_at,
        )

    def open(self, segment: SegmentInfo) -> engine.OpenedSegment:
        return engine.open_segment(
            segment,
            conv=CONV,
            period_id=b64.encode(self.period_id),
            period_key=self.period,
            device=self.device,
            service_public_key=sign.public_key_bytes(self.service),
            envelopes=0,
        )


def test_open_segment_verifies_the_device_as_it_was_when_the_segment_was_made() -> None:
    setup = _Setup(not_after=1_800_000_000)
    during = setup.open(setup.segment(created_at=1_799_999_999.0))
    assert (during.report.status, during.key) == ("verified", setup.key)
    after = setup.open(setup.segment(created_at=1_800_000_000.0))
    assert after.report.status == "unverified"
    assert "expired" in after.report.reason
    assert after.key == setup.key  # readable, but not trusted


def test_open_segment_reports_a_wrap_that_does_not_open() -> None:
    setup = _Setup()
    segment = setup.segment()
    wrap = bytearray(b64.decode(segment.wrap_o or ""))
    wrap[-1] ^= 1
    broken = SegmentInfo(0, segment.device_id, segment.period_id, b64.encode(bytes(wrap)), None, 0)
    opened = setup.open(broken)
    assert (opened.report.status, opened.key) == ("wrap_unopenable", None)


def test_decrypt_names_what_went_wrong_and_never_raises() -> None:
    key = secrets.token_bytes(32)
    sender = Sender(conv=b64.encode(CONV), role="Y")
    envelope = sender.text_envelope(key, "hej", sent_at=0)
    stored = StoredEnvelope(1, envelope)
    assert engine.decrypt(key, CONV, stored).body == {"type": "text", "body": "hej", "sent_at": 0}
    wrong_role = StoredEnvelope(1, replace(envelope, role="C"))
    assert engine.decrypt(key, CONV, wrong_role).error == "the message could not be decrypted"
    bad_role = StoredEnvelope(1, replace(envelope, role="X"))
    assert engine.decrypt(key, CONV, bad_role).error == "the envelope's header is malformed"
    not_b64 = StoredEnvelope(1, replace(envelope, ct="***"))
    assert engine.decrypt(key, CONV, not_b64).body is None


def _transcript(*messages: Message) -> Transcript:
    return Transcript("conv", 0.0, None, "period", "abcd", 0.0, (), messages, ())


def test_text_escapes_terminal_controls_and_bidi_overrides_in_messages() -> None:
    hostile = "red \x1b[31mtext\x1b[0m \u202egnp.exe\x9b2J"
    body = {"type": "text", "body": hostile, "sent_at": 0}
    text = render.to_text(_transcript(Message(1, 0, "Y", "i", 1, body, None)))
    assert "\x1b" not in text
    assert "\u202e" not in text
    assert "\x9b" not in text
    assert "red \\u001b[31mtext\\u001b[0m \\u202egnp.exe\\u009b2J" in text


def test_json_escapes_them_too_and_still_reads_back_the_same_text() -> None:
    hostile = "a\x9b2J\u202eb\u2028c\x1bd ħ مرحبا"
    body = {"type": "text", "body": hostile, "sent_at": 0}
    document = render.to_json(_transcript(Message(1, 0, "Y", "i", 1, body, None)))
    assert not any(ch in document for ch in "\x9b\u202e\u2028\x1b")
    assert "مرحبا" in document  # readable scripts are written as they are
    assert json.loads(document)["messages"][0]["body"]["body"] == hostile


IO_LIBRARIES = {"fastapi", "sqlalchemy", "asyncio", "websockets", "starlette", "httpx", "socket"}


def _imports(module: str) -> set[str]:
    spec = importlib.util.find_spec(module)
    assert spec is not None
    assert spec.origin is not None
    names: set[str] = set()
    for node in ast.walk(ast.parse(Path(spec.origin).read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _is_module(name: str) -> bool:
    """False for ``package.module.NAME`` forms that name an attribute, not a module."""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.parametrize("module", ["app.transcripts.engine", "app.transcripts.render"])
def test_pure_modules_import_no_io(module: str) -> None:
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen or not _is_module(name):
            continue
        seen.add(name)
        imports = _imports(name)
        assert not {i.split(".")[0] for i in imports} & IO_LIBRARIES, name
        todo += [i for i in imports if i.startswith("app.")]
    assert len(seen) > 1  # the walk followed the app imports


def test_gaps_are_listed_under_the_sender_they_belong_to() -> None:
    body = {"type": "text", "body": "x", "sent_at": 0}
    transcript = Transcript(
        "conv",
        0.0,
        None,
        "period",
        "abcd",
        0.0,
        (),
        (Message(1, 0, "Y", "i", 3, body, None), Message(2, 0, "C", "j", 5, body, None)),
        (engine.Gap(0, "Y", "i", 1, 3), engine.Gap(0, "C", "j", 0, 5)),
    )
    assert render.to_text(transcript).endswith(
        "missing from the store:\n"
        "  segment 0, young person 1: seq 2\n"
        "  segment 0, counsellor 1: seq 1..4\n"
    )
