"""The young person's page key (issue 13 (5), PROTOCOL.md §6.7) on a real server: stored with
the ticket at join, before any pairing, and never replaced; each signed envelope stored and
relayed with its ``sig``, whose shape alone the server checks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.crypto import sign, youthsig
from app.db import make_engine, make_sessionmaker
from app.kit import b64
from app.models import Conversation, Envelope, Ticket
from tests.conftest import Server
from tests.support import Harness, expect_error, unique_language


async def _stored(server: Server, conv: str) -> tuple[str | None, list[Envelope]]:
    engine = make_engine(server.database.settings())
    try:
        async with make_sessionmaker(engine)() as session:
            query = select(Ticket.youth_sig_key).join(Conversation).where(Conversation.id == conv)
            key = (await session.execute(query)).scalar_one()
            rows = (await session.execute(select(Envelope).where(Envelope.conv_id == conv))).all()
            return key, [row[0] for row in rows]
    finally:
        await engine.dispose()


def _triage(language: str) -> dict[str, Any]:
    return {"language": language, "kind": "youth", "danger_now": False}


async def test_the_page_key_is_fixed_at_join_and_cannot_be_replaced(server: Server) -> None:
    """R-4: the key the page sent in ``join`` is the ticket's before pairing and stays so: a
    second join on the socket, or a resume carrying another key, changes nothing; the
    counsellor's side cannot attach a young person's signature."""
    async with Harness(server) as h:
        chat = await h.chat(envelopes=2)
        youth = chat.youth
        assert youth.sig_key is not None
        first = b64.encode(sign.public_key_bytes(youth.sig_key))
        key, rows = await _stored(server, chat.conv)
        assert key == first
        young = [r for r in rows if r.role == "Y"]
        assert len(young) == 2
        for row in young:  # stored beside the envelope as sent, and it verifies
            assert row.sig is not None
            assert youthsig.verify_envelope(
                b64.decode(key),
                b64.decode(row.conv_id),
                row.seg,
                b64.decode(row.inst),
                row.seq,
                b64.decode(row.ct),
                b64.decode(row.sig),
            )
        assert all(r.sig is None for r in rows if r.role == "C")
        relayed = [e for e in chat.staff.envelopes if e.role == "Y"]
        assert sorted(str(e.sig) for e in relayed) == sorted(str(r.sig) for r in young)

        other = b64.encode(sign.public_key_bytes(sign.generate_private_key()))
        await youth.send({"type": "join", "triage": _triage(chat.language), "sig_key": other})
        await expect_error(youth, "wrong_state")
        again = await h.youth()
        await again.send({"type": "resume", "ticket": youth.ticket, "sig_key": other})
        await again.expect("resumed")
        assert (await _stored(server, chat.conv))[0] == first

        # The counsellor's envelopes carry no young person's signature.
        envelope = chat.staff.senders[chat.conv].test_envelope().as_dict()
        await chat.staff.send({"type": "envelope", "envelope": {**envelope, "sig": "A" * 86}})
        await expect_error(chat.staff, "bad_envelope")


async def test_a_key_or_signature_of_the_wrong_shape_is_refused(server: Server) -> None:
    """R-4: a ``sig_key`` that is not a 65-byte point, or a ``sig`` that is not 64 bytes, is
    refused with an error frame."""
    async with Harness(server) as h:
        bad = await h.youth()
        for value in ("AAAA", b64.encode(b"\x02" + bytes(64)), 7):
            await bad.send({"type": "join", "triage": _triage(unique_language()), "sig_key": value})
            await expect_error(bad, "bad_frame")
        chat = await h.chat(envelopes=1)
        assert chat.youth.sender is not None
        envelope = chat.youth.sender.test_envelope().as_dict()
        for sig in ("A" * 85, "A" * 87, 64):
            await chat.youth.send({"type": "envelope", "envelope": {**envelope, "sig": sig}})
            await expect_error(chat.youth, "bad_envelope")
