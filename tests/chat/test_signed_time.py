"""A return visit checks the device certificate at the time the device signed into its
acceptance (issue 13 (6), PROTOCOL.md §6.3), not at a time the server supplies: on a real server
with real crypto, the server's ``sealed_at`` rewritten to any time inside the certificate's
window cannot make an acceptance signed after the certificate expired pass; an untimed
acceptance (from before) opens but is marked as of unverified time."""

from __future__ import annotations

import asyncio

import pytest

from app.client.counsellor import CounsellorClient
from app.crypto import certs, returncode
from app.kit import b64
from tests.chat.test_segments import _connected_pair
from tests.conftest import Server
from tests.expiry.world import return_code_frame, write
from tests.support import Harness, shared_server

server = shared_server(("sqlite",))


async def _chat_with_code(
    h: Harness, **console: object
) -> tuple[CounsellorClient, str, str, bytes]:
    """A real chat with one message, a return code filed on its socket and closed: the
    counsellor's client, the conversation, the code and the segment key."""
    staff, youth, conv = await _connected_pair(h, **console)
    await asyncio.gather(staff.wait_keys(conv), youth.wait_connected())
    assert youth.sender is not None
    await youth.send_envelope(youth.sender.text_envelope(youth.key, "hej"))
    await youth.expect("ack")
    code = returncode.new_code()
    await youth.send(await return_code_frame(code, youth.key, conv))
    await youth.expect("return_code_stored")
    await youth.send({"type": "close"})
    await youth.expect("closed")
    return staff, conv, code, youth.key


async def _rewrite(server: Server, conv: str, sig: bytes, at: int | None, sealed_at: int) -> None:
    """What a database writer can do: any acceptance row and any ``created_at``."""
    await write(
        server,
        "UPDATE segments SET accept_sig = :sig, accept_at = :at, created_at = :sealed"
        " WHERE conv_id = :conv AND seg = 0",
        sig=b64.encode(sig),
        at=at,
        sealed=sealed_at,
        conv=conv,
    )


async def test_the_certificate_is_checked_at_the_signed_time(server: Server) -> None:
    """R-25: A database writer cannot name the time a device certificate is checked at."""
    async with Harness(server) as h:
        staff, conv, code, key = await _chat_with_code(h)
        assert staff.device is not None
        not_after = staff.device.not_after
        reader = await h.youth(e2e=True)

        (earlier,) = await reader.fetch_history(code)
        assert earlier.messages == [("Y", "hej")]
        assert earlier.time_unverified == set()

        # Read long after the certificate expired: it was valid when the device signed.
        later = float(not_after + 30 * 86400)
        reader.clock = lambda: later
        (earlier,) = await reader.fetch_history(code)
        assert earlier.messages == [("Y", "hej")]

        # The device (or whoever holds its key) accepted after its certificate expired; the
        # server claims the segment was sealed well inside the window. Refused all the same.
        raw_conv = b64.decode(conv)
        late = certs.sign_acceptance(
            staff.device.sig_key, raw_conv, 0, key, signed_at=not_after + 5
        )
        await _rewrite(server, conv, late, not_after + 5, sealed_at=not_after - 3600)
        with pytest.raises(certs.VerificationError, match="expired"):
            await reader.fetch_history(code)

        # Nor does moving the stored signed time into the window: the signature binds it.
        await _rewrite(server, conv, late, not_after - 3600, sealed_at=not_after - 3600)
        with pytest.raises(certs.VerificationError, match="not signed"):
            await reader.fetch_history(code)

        # A signed time ahead of the reader's clock is not plausible.
        reader.clock = lambda: float(not_after - 86400)
        ahead = not_after - 86400 + certs.CLOCK_SKEW_SECONDS + 60
        early = certs.sign_acceptance(staff.device.sig_key, raw_conv, 0, key, signed_at=ahead)
        await _rewrite(server, conv, early, ahead, sealed_at=not_after - 86400)
        with pytest.raises(certs.VerificationError, match="to come"):
            await reader.fetch_history(code)


async def test_an_untimed_acceptance_opens_with_its_time_unverified(server: Server) -> None:
    async with Harness(server) as h:
        _, _, code, _ = await _chat_with_code(h, timed_accept=False)
        reader = await h.youth(e2e=True)
        (earlier,) = await reader.fetch_history(code)
        assert earlier.messages == [("Y", "hej")]
        assert earlier.time_unverified == {0}
