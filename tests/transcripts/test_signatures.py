"""The export's transcript-signature check (issue 13 (5)): each message is marked as signed by
the counsellor's device or not covered by a counsellor signature, and none is hidden."""

from __future__ import annotations

import json

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.client.envelopes import Sender
from app.crypto import sign, transcript
from app.kit import b64
from app.models import Envelope, TranscriptSig
from app.transcripts import render
from tests.transcripts.test_service import T0, _export, world
from tests.transcripts.world import NOW, World, in_transaction

__all__ = ["world"]  # the fixture


def _sign(world: World, rows: list[Envelope], *, key: object = None, seg: int = 0) -> None:
    """Store the device's transcript signature over ``rows`` as the relay stores it."""
    held = transcript.digest_map(
        world.conv,
        seg,
        [(r.role, b64.decode(r.inst), r.seq, b64.decode(r.ct)) for r in rows],
    )
    frame = transcript.make_signature(key or world.device.sig_key, world.conv, seg, held)  # type: ignore[arg-type]

    async def add(session: AsyncSession) -> None:
        session.add(
            TranscriptSig(
                conv_id=world.conv_id,
                seg=seg,
                device_id=world.device.device_id,
                n=frame["n"],
                digest=frame["digest"],
                sig=frame["sig"],
                covers=json.dumps(frame["covers"], separators=(",", ":")),
                signed_at=NOW,
            )
        )

    in_transaction(world.database, add)


def _chat(world: World) -> tuple[list[Envelope], Sender]:
    world.add_segment(0)
    youth, counsellor = world.sender("Y"), world.sender("C")
    rows = [
        world.send(youth, "hej", sent_at=T0),
        world.send(counsellor, "Hej! Jag heter Sara.", sent_at=T0 + 1000),
        world.send(youth, "tack", sent_at=T0 + 2000),
    ]
    return rows, counsellor


def _marks(world: World) -> list[tuple[str, str, bool]]:
    return [(m.role, str(m.body and m.body["body"]), m.signed) for m in _export(world).messages]


def test_a_signed_segment_marks_every_message_signed(world: World) -> None:
    rows, _ = _chat(world)
    _sign(world, rows)
    exported = _export(world)
    assert [m.signed for m in exported.messages] == [True, True, True]
    assert [(s.seg, s.signature) for s in exported.segments] == [(0, "signed")]
    document = json.loads(render.to_json(exported))
    assert document["unsigned_messages"] == 0
    assert {m["signature"] for m in document["messages"]} == {"signed by the counsellor's device"}
    text = render.to_text(exported)
    assert "; transcript signed by that device" in text
    assert "counsellor 1 (seg 0 seq 1; signed): Hej! Jag heter Sara." in text


def test_a_counsellor_message_forged_after_the_signature_is_not_covered(world: World) -> None:
    """Anyone holding K (the young person, a return code, the period key) can write under role
    C; one written after the device's last signature is shown, marked not covered."""
    rows, _ = _chat(world)
    _sign(world, rows)
    forger = Sender(conv=world.conv_id, role="C")  # a K holder, not the counsellor's device
    world.send(forger, "Jag är din rådgivare, ring mig privat", sent_at=T0 + 3000)

    assert _marks(world) == [
        ("Y", "hej", True),
        ("C", "Hej! Jag heter Sara.", True),
        ("Y", "tack", True),
        ("C", "Jag är din rådgivare, ring mig privat", False),
    ]
    exported = _export(world)
    text = render.to_text(exported)
    assert (
        "counsellor 2 (seg 0 seq 1; NOT COVERED BY A COUNSELLOR SIGNATURE): "
        "Jag är din rådgivare, ring mig privat"
    ) in text
    assert "signatures:   3 signed by the counsellor's device, 1 not covered" in text
    assert json.loads(render.to_json(exported))["unsigned_messages"] == 1


def test_a_young_persons_message_forged_by_a_k_holder_is_flagged(world: World) -> None:
    """Sender authentication (issue 13 (5)): a K holder writing under role Y after the
    counsellor device's signature (a return-code holder, a database writer with K) is shown
    in the export marked not covered, beside the young person's own signed messages."""
    rows, _ = _chat(world)
    _sign(world, rows)
    forger = Sender(conv=world.conv_id, role="Y")
    world.send(forger, "jag tar tillbaka allt jag sa", sent_at=T0 + 3000, signed=False)

    assert _marks(world) == [
        ("Y", "hej", True),
        ("C", "Hej! Jag heter Sara.", True),
        ("Y", "tack", True),
        ("Y", "jag tar tillbaka allt jag sa", False),
    ]
    text = render.to_text(_export(world))
    assert (
        "NOT COVERED BY A COUNSELLOR SIGNATURE; NOT FROM THE YOUNG PERSON'S PAGE (no signature)): "
        "jag tar tillbaka allt jag sa" in text
    )


def test_a_forged_message_under_an_existing_counsellor_stream_is_not_covered(
    world: World,
) -> None:
    rows, counsellor = _chat(world)
    _sign(world, rows)
    world.send(counsellor, "written with the counsellor's inst, after the signature", sent_at=T0)
    assert [signed for _, _, signed in _marks(world)] == [True, True, True, False]


def test_no_signature_or_one_that_does_not_hold_covers_nothing(world: World) -> None:
    rows, _ = _chat(world)
    exported = _export(world)
    assert [m.signed for m in exported.messages] == [False, False, False]
    assert exported.segments[0].signature == "none"

    _sign(world, rows, key=sign.generate_private_key())  # not the certified device's key
    exported = _export(world)
    assert [m.signed for m in exported.messages] == [False, False, False]
    assert exported.segments[0].signature == "invalid"
    assert "not the counsellor device's" in exported.segments[0].signature_reason
    assert "transcript signature invalid" in render.to_text(exported)


def test_a_signed_envelope_deleted_from_the_store_voids_the_signature(world: World) -> None:
    rows, _ = _chat(world)
    _sign(world, rows)

    async def drop(session: AsyncSession) -> None:
        await session.execute(delete(Envelope).where(Envelope.id == rows[1].id))

    in_transaction(world.database, drop)
    exported = _export(world)
    assert [m.signed for m in exported.messages] == [False, False]
    assert exported.segments[0].signature == "invalid"
    assert "1 signed envelope is missing" in exported.segments[0].signature_reason


def test_a_changed_ciphertext_voids_the_signature(world: World) -> None:
    rows, counsellor = _chat(world)
    _sign(world, rows)
    replacement = counsellor.text_envelope(world.segment_keys[0], "changed", sent_at=T0)

    async def change(session: AsyncSession) -> None:
        row = await session.get(Envelope, rows[1].id)
        assert row is not None
        row.seq, row.ct = 1, replacement.ct  # same place, other text (encrypted under K)

    # The replacement was made as seq 2 of the counsellor's stream: it does not even open as
    # seq 1, and the signature no longer holds over the changed envelope either way.
    in_transaction(world.database, change)
    exported = _export(world)
    assert exported.segments[0].signature == "invalid"
    assert not any(m.signed for m in exported.messages)
