"""What a console's device signs, stored before it is relayed: acceptances of segment keys
(CRYPTO.md §3) and transcript signatures (issue 13 (5), PROTOCOL.md §6.6). The server checks
who may store them, never their cryptography: the clients and the export verify."""

from __future__ import annotations

from app.chat import segments
from app.db import transaction
from app.kit.errors import ProtocolError
from app.relay.base import unavailable
from app.relay.keyframes import Accept, TranscriptSig
from app.state import AppState


async def accept(state: AppState, device_id: str | None, conv_id: str, frame: Accept) -> bool:
    """Store a segment's acceptance once; False for a repeat. ``ProtocolError`` when refused."""
    try:
        async with transaction(state.sessionmaker) as session:
            return await segments.store_accept(
                session,
                conv_id=conv_id,
                seg=frame.seg,
                device_id=device_id,
                sig=frame.sig,
                signed_at=frame.signed_at,
            )
    except ProtocolError:
        raise
    except Exception as exc:
        raise unavailable() from exc


async def transcript_sig(state: AppState, device_id: str | None, frame: TranscriptSig) -> None:
    """Keep the device's latest transcript signature of the segment. ``ProtocolError`` when
    refused (``unknown_segment``, ``wrong_device``) or not stored (``unavailable``)."""
    try:
        async with transaction(state.sessionmaker) as session:
            await segments.store_transcript_sig(
                session,
                conv_id=frame.conv,
                seg=frame.seg,
                device_id=device_id,
                n=frame.n,
                digest=frame.digest,
                sig=frame.sig,
                covers=frame.covers,
                now=state.clock(),
            )
    except ProtocolError:
        raise
    except Exception as exc:
        raise unavailable() from exc
