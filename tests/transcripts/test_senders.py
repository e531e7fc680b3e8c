"""The export's sender check (issue 13 (5), PROTOCOL.md §6.7): each of the young person's
messages is marked as written on their page only when it carries a signature by the key the
page sent in ``join``; a K holder's role-Y envelope is flagged even when the counsellor device's
transcript signature covers it, and a conversation from before says "sender not verifiable"."""

from __future__ import annotations

import json

from app.chat.envelope import Envelope as WireEnvelope
from app.client.envelopes import Sender
from app.crypto import sign
from app.kit import b64
from app.transcripts import render, senders
from app.transcripts.engine import StoredEnvelope
from tests.transcripts.test_service import T0, _export, world
from tests.transcripts.test_signatures import _sign
from tests.transcripts.world import World

__all__ = ["world"]  # the fixture


def _marks(world: World) -> list[tuple[str, str, bool, str | None]]:
    return [
        (m.role, str(m.body and m.body["body"]), m.signed, m.sender)
        for m in _export(world).messages
    ]


def test_a_k_holders_young_person_message_before_the_signature_is_flagged(world: World) -> None:
    """R-4: a K holder (here the counsellor's side, whose device then signs the transcript
    with the forgery in it) writing under role Y is flagged by the export: the transcript
    signature covers it, the young person's page key did not sign it."""
    world.add_segment(0)
    youth, counsellor = world.sender("Y"), world.sender("C")
    forger = Sender(conv=world.conv_id, role="Y")
    rows = [
        world.send(youth, "hej", sent_at=T0),
        world.send(counsellor, "Hej! Jag heter Sara.", sent_at=T0 + 1000),
        world.send(forger, "jag vill inte prata med polisen", sent_at=T0 + 2000, signed=False),
        world.send(
            forger, "jag ljög om allt", sent_at=T0 + 3000, signer=sign.generate_private_key()
        ),
    ]
    _sign(world, rows)  # the counsellor's device signs everything it holds, forgeries too

    assert _marks(world) == [
        ("Y", "hej", True, "verified"),
        ("C", "Hej! Jag heter Sara.", True, None),
        ("Y", "jag vill inte prata med polisen", True, "unsigned"),
        ("Y", "jag ljög om allt", True, "bad_signature"),
    ]
    exported = _export(world)
    assert exported.not_from_youth_page == 2
    text = render.to_text(exported)
    assert "young person: 1 written on their page, 2 NOT FROM THEIR PAGE" in text
    assert (
        "seq 1; signed; NOT FROM THE YOUNG PERSON'S PAGE (no signature)): "
        "jag vill inte prata med polisen" in text
    )
    assert (
        "seq 2; signed; NOT FROM THE YOUNG PERSON'S PAGE (the signature does not hold)): "
        "jag ljög om allt" in text
    )
    assert "young person 1 (seg 0 seq 1; signed): hej" in text  # verified: no extra mark
    document = json.loads(render.to_json(exported))
    assert document["not_from_youth_page"] == 2
    assert [m["sender"] for m in document["messages"]] == [
        "verified",
        None,
        "unsigned",
        "bad_signature",
    ]
    assert document["messages"][0]["sender_note"] == "written on the young person's page"


def test_a_page_signature_moved_to_another_envelope_does_not_hold(world: World) -> None:
    """R-4: the young person's real signature copied onto a K holder's envelope (same
    stream, next seq, or another segment) is refused: it signs one envelope's place and bytes."""
    world.add_segment(0)
    world.add_segment(1)
    youth = world.sender("Y")
    real = world.send(youth, "hej", sent_at=T0)
    copied = world.send(youth, "något annat", sent_at=T0 + 1000, signed=False)
    other_seg = world.send(world.sender("Y", seg=1), "hej", sent_at=T0 + 2000, signed=False)
    for row in (copied, other_seg):
        envelope = WireEnvelope(row.conv_id, row.seg, "Y", row.inst, row.seq, row.ct, real.sig)
        assert (
            senders.check(
                world.conv,
                b64.encode(sign.public_key_bytes(world.youth_key)),
                StoredEnvelope(1, envelope),
            )
            == "bad_signature"
        )
    genuine = WireEnvelope(real.conv_id, 0, "Y", real.inst, real.seq, real.ct, real.sig)
    public = b64.encode(sign.public_key_bytes(world.youth_key))
    assert senders.check(world.conv, public, StoredEnvelope(1, genuine)) == "verified"
    # A garbled stored key or signature is a finding, never a crash.
    assert senders.check(world.conv, "not-base64!", StoredEnvelope(1, genuine)) == "bad_signature"


def test_a_conversation_from_before_says_sender_not_verifiable(world: World) -> None:
    """No page key stored (a conversation from before, or an older client): every young
    person's message is "sender not verifiable", none is marked verified, nothing crashes."""
    world.add_segment(0)
    world.forget_youth_key()
    world.send(world.sender("Y"), "hej", sent_at=T0)
    world.send(world.sender("Y"), "utan signatur", sent_at=T0 + 1000, signed=False)
    world.send(world.sender("C"), "Hej!", sent_at=T0 + 2000)
    assert [m[3] for m in _marks(world)] == ["not_verifiable", "not_verifiable", None]
    exported = _export(world)
    assert exported.not_from_youth_page == 0
    text = render.to_text(exported)
    assert "young person: 2 sender not verifiable" in text
    assert "; sender not verifiable (no page key stored)): hej" in text
