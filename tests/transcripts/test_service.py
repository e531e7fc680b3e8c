"""The export on a migrated database (SQLite and PostgreSQL), with real keys and ciphertext."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.retention import RetentionPolicy
from app.chat.sealing import Sealer
from app.crypto import hpke, sign
from app.keys import files
from app.keys import service as keys_service
from app.keys.bucketkeys import BucketKeys
from app.kit import b64
from app.models import AuditEntry, Envelope, Segment
from app.transcripts import render
from app.transcripts import service as transcripts_service
from app.transcripts.engine import ExportRefused, NotTrusted, Transcript
from tests.canary import canary_phrase, find_canary
from tests.conftest import Database
from tests.transcripts.world import NOW, PASSPHRASE, World, in_transaction, make_world

T0 = 1_795_000_000_000  # unix ms: 2026-11-18 11:06:40 UTC
#: How an unsigned message is marked (no signature is stored in these worlds).
NC = "; NOT COVERED BY A COUNSELLOR SIGNATURE"


@pytest.fixture
def world(database: Database, tmp_path: Path) -> World:
    return make_world(database, tmp_path)


def _export(
    world: World,
    *,
    period_key: ec.EllipticCurvePrivateKey | None = None,
    service_key: ec.EllipticCurvePrivateKey | None = None,
    allow_unverified: bool = False,
    conversation_id: str | None = None,
) -> Transcript:
    key = period_key or files.load_period_key(world.period_file, PASSPHRASE)
    service_public_key = sign.public_key_bytes(service_key or world.service_key)
    return in_transaction(
        world.database,
        lambda session: transcripts_service.export_transcript(
            session,
            Sealer(BucketKeys(world.period_file.parent / "buckets"), RetentionPolicy()),
            conversation_id=conversation_id or world.conv_id,
            period_key=key,
            service_public_key=service_public_key,
            allow_unverified=allow_unverified,
            now=NOW,
        ),
    )


def _exports_audited(world: World) -> list[dict[str, object]]:
    async def read(session: AsyncSession) -> list[dict[str, object]]:
        query = select(AuditEntry).where(AuditEntry.action == "transcript_export")
        return [json.loads(row.detail) for row in (await session.execute(query)).scalars()]

    return in_transaction(world.database, read)


def _chat(world: World, canary: str) -> None:
    """Segment 0 readable, two young-person page loads and one counsellor instance."""
    world.add_segment(0)
    youth, counsellor = world.sender("Y"), world.sender("C")
    world.send(youth, f"hej, {canary}", sent_at=T0)
    world.send(counsellor, "Hej! Jag heter Sara.", sent_at=T0 + 60_000)
    world.send(youth, "två rader\nandra raden", sent_at=T0 + 120_000)
    reloaded = world.sender("Y")
    world.send(reloaded, "مرحبا", sent_at=T0 + 180_000)


def test_export_decrypts_every_message_in_order_and_audits_without_plaintext(
    world: World,
) -> None:
    """R-12: Export decrypts every message in order and audits without plaintext."""
    canary = canary_phrase()
    _chat(world, canary)
    other_period, _ = world.add_period("other.pem")
    world.add_segment(1, period=other_period)
    world.send(world.sender("Y", seg=1), "sealed to another period", sent_at=T0 + 240_000)

    transcript = _export(world)

    texts = [(m.role, m.seq, m.body and m.body["body"]) for m in transcript.messages]
    assert texts == [
        ("Y", 1, f"hej, {canary}"),
        ("C", 1, "Hej! Jag heter Sara."),
        ("Y", 2, "två rader\nandra raden"),
        ("Y", 1, "مرحبا"),
    ]
    assert [(s.seg, s.status) for s in transcript.segments] == [
        (0, "verified"),
        (1, "other_period"),
    ]
    # An untimed acceptance: the certificate was checked at the stored created_at only.
    assert [s.accept_time for s in transcript.segments] == ["unverified", None]
    text = render.to_text(transcript)
    assert text.splitlines()[-5:] == [
        f"[2026-11-18 11:06:40 UTC] young person 1 (seg 0 seq 1{NC}): hej, {canary}",
        f"[2026-11-18 11:07:40 UTC] counsellor 1 (seg 0 seq 1{NC}): Hej! Jag heter Sara.",
        f"[2026-11-18 11:08:40 UTC] young person 1 (seg 0 seq 2{NC}): två rader",
        "    andra raden",
        f"[2026-11-18 11:09:40 UTC] young person 2 (seg 0 seq 1{NC}): مرحبا",
    ]
    assert f"  segment 0: accepted by device {world.device.device_id}" in text
    assert "  segment 1: not readable with this key (sealed to another period key), 1 envelope" in (
        text
    )
    assert "sealed to another period\n" not in text  # segment 1's message stays closed
    assert "NOT VERIFIED" not in text

    document = json.loads(render.to_json(transcript))
    assert document["verified"] is True
    assert document["warning"] is None
    assert document["messages"][0]["body"]["body"] == f"hej, {canary}"
    assert document["segments"][1]["note"] == "not readable with this key"

    (audited,) = _exports_audited(world)
    assert audited == {
        "conversation_id": world.conv_id,
        "period_id": world.period.period_id,
        "count": 4,
        "undecryptable": 0,
        "segments": [0],
        "unverified_segments": [],
        "unsigned": 4,
        "not_from_youth_page": 0,
    }
    # The export wrote an audit row and read the database: no plaintext went into it.
    assert find_canary(canary, database=world.database) == []


def test_a_tampered_envelope_is_shown_as_undecryptable_not_dropped(world: World) -> None:
    world.add_segment(0)
    youth = world.sender("Y")
    world.send(youth, "first", sent_at=T0)
    tampered = world.send(youth, "second", sent_at=T0 + 1000)
    world.send(youth, "third", sent_at=T0 + 2000)
    ct = bytearray(b64.decode(tampered.ct))
    ct[5] ^= 0x01

    async def tamper(session: AsyncSession) -> None:
        query = update(Envelope).where(Envelope.id == tampered.id).values(ct=b64.encode(bytes(ct)))
        await session.execute(query)

    in_transaction(world.database, tamper)

    transcript = _export(world)
    assert [(m.seq, m.body is not None) for m in transcript.messages] == [
        (1, True),
        (2, False),
        (3, True),
    ]
    assert (
        f"young person 1 (seg 0 seq 2{NC}; NOT FROM THE YOUNG PERSON'S PAGE (the signature "
        "does not hold)): [COULD NOT BE DECRYPTED: the message could not be "
        in (render.to_text(transcript))
    )
    assert _exports_audited(world)[0]["undecryptable"] == 1
    assert _exports_audited(world)[0]["count"] == 2


def test_a_missing_seq_is_reported_as_a_gap(world: World) -> None:
    world.add_segment(0)
    youth = world.sender("Y")
    world.send(youth, "one", sent_at=T0)
    youth.next_seq = 4  # 2 and 3 never reached the store
    world.send(youth, "four", sent_at=T0 + 1000)
    transcript = _export(world)
    assert [(g.after, g.next) for g in transcript.gaps] == [(1, 4)]
    assert "  segment 0, young person 1: seq 2..3" in render.to_text(transcript)


@pytest.mark.parametrize("accept", ["forged", "none"])
def test_an_acceptance_that_does_not_verify_refuses_the_export(world: World, accept: str) -> None:
    world.add_segment(0, accept=accept)
    world.send(world.sender("Y"), "hello", sent_at=T0)
    reason = "does not verify" if accept == "forged" else "never signed an acceptance"
    with pytest.raises(NotTrusted, match=reason):
        _export(world)
    assert _exports_audited(world) == []

    allowed = _export(world, allow_unverified=True)
    assert allowed.unverified_segments == [0]
    text = render.to_text(allowed)
    assert text.startswith("!!! NOT VERIFIED: ")
    assert text.rstrip("\n").splitlines()[-1].startswith("!!! NOT VERIFIED: ")
    assert "young person 1 (seg 0 seq 1; NOT COVERED BY A COUNSELLOR SIGNATURE): hello" in text
    assert json.loads(render.to_json(allowed))["verified"] is False
    assert _exports_audited(world)[0]["unverified_segments"] == [0]


def test_an_acceptance_of_another_segment_or_conversation_does_not_count(world: World) -> None:
    world.add_segment(0)
    key = world.add_segment(1)
    from app.crypto import certs

    replayed = certs.sign_acceptance(world.device.sig_key, world.conv, 0, key)  # seg 0, K of 1

    async def replay(session: AsyncSession) -> None:
        query = (
            update(Segment)
            .where(Segment.conv_id == world.conv_id, Segment.seg == 1)
            .values(accept_sig=b64.encode(replayed))
        )
        await session.execute(query)

    in_transaction(world.database, replay)
    with pytest.raises(NotTrusted, match="segment 1 is not trusted"):
        _export(world)


def test_a_device_not_certified_by_the_service_key_refuses_the_export(world: World) -> None:
    rogue = world.add_device(certified_by=sign.generate_private_key())
    world.add_segment(0, device=rogue)  # accepted by the rogue device's own key
    world.send(world.sender("Y"), "hello", sent_at=T0)
    with pytest.raises(NotTrusted, match="device certificate refused"):
        _export(world)
    # A different service key than the one that certified the device: the same refusal.
    world2_service_key = sign.generate_private_key()
    with pytest.raises(ExportRefused, match="not certified by this service key"):
        _export(world, service_key=world2_service_key)


def test_a_period_key_that_opens_nothing_here_is_refused(world: World) -> None:
    world.add_segment(0)
    world.send(world.sender("Y"), "hello", sent_at=T0)
    _, other_file = world.add_period("other.pem")
    with pytest.raises(ExportRefused, match=r"no segment of conversation \S+ is readable"):
        _export(world, period_key=files.load_period_key(other_file, PASSPHRASE))
    with pytest.raises(ExportRefused, match="not registered"):
        _export(world, period_key=hpke.generate_private_key())
    with pytest.raises(ExportRefused, match="no conversation"):
        _export(world, conversation_id=b64.encode(b"\x00" * 16))
    assert _exports_audited(world) == []


def test_segments_without_an_organisation_wrap_are_listed_as_not_readable(world: World) -> None:
    world.add_segment(0)
    world.add_segment(1, wrap_o=False)
    world.add_segment(2, no_period=True)
    world.send(world.sender("Y"), "readable", sent_at=T0)
    world.send(world.sender("Y", seg=1), "no organisation wrap", sent_at=T0)
    world.segment_keys[3] = bytes(32)  # envelopes whose segment has no key record
    world.send(world.sender("C", seg=3), "a segment without a key record", sent_at=T0)
    text = render.to_text(_export(world))
    assert "  segment 1: not readable with this key (no organisation wrap was stored)" in text
    assert (
        "  segment 2: not readable with this key (no period key was valid at pairing), 0 envelopes"
    ) in text
    assert "  segment 3: not readable with this key (no key record for this segment)" in text
    assert "no organisation wrap\n" not in text
    assert "readable\n" in text


def test_a_destroyed_period_is_refused_even_if_a_copy_of_its_key_survives(
    world: World, tmp_path: Path
) -> None:
    world.add_segment(0)
    world.send(world.sender("Y"), "hello", sent_at=T0)
    copy = files.load_period_key(world.period_file, PASSPHRASE)
    in_transaction(
        world.database,
        lambda s: keys_service.destroy_period(
            s, period_id=world.period.period_id, key_file=world.period_file, now=NOW
        ),
    )
    assert not world.period_file.exists()
    with pytest.raises(ExportRefused, match="was destroyed"):
        _export(world, period_key=copy)
