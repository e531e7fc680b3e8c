"""Real conversations for the export tests: real keys, certificates, sealed wraps, acceptances
and envelopes, made with the same primitives the clients use, stored in a migrated database."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.ext.asyncio import AsyncSession

from app.client.envelopes import Sender
from app.crypto import certs, hpke, sign, youthsig
from app.db import make_engine, make_sessionmaker, transaction
from app.keys import files
from app.keys import service as keys_service
from app.kit import b64
from app.models import Conversation, Device, Envelope, Segment, Ticket
from app.staff import service as staff_service
from tests.conftest import STAFF_PASSWORD, Database

T = TypeVar("T")
PASSPHRASE = "a long custody passphrase"
NOW = time.time()
DAY = 86400


def in_transaction(database: Database, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = make_engine(database.settings())
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                return await fn(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@dataclass
class CounsellorDevice:
    staff_id: str
    device_id: str
    hpke_key: ec.EllipticCurvePrivateKey
    sig_key: ec.EllipticCurvePrivateKey


@dataclass
class World:
    """One service key, one period key on disk, one counsellor device, one conversation."""

    database: Database
    tmp: Path
    service_key: ec.EllipticCurvePrivateKey
    service_key_file: Path
    period: keys_service.Period
    period_file: Path
    device: CounsellorDevice
    conv: bytes
    #: The young person's page key whose public point the ticket holds (PROTOCOL.md §6.7).
    youth_key: ec.EllipticCurvePrivateKey = field(default_factory=sign.generate_private_key)
    segment_keys: dict[int, bytes] = field(default_factory=dict)

    @property
    def conv_id(self) -> str:
        return b64.encode(self.conv)

    def add_period(self, name: str) -> tuple[keys_service.Period, Path]:
        out = self.tmp / name
        period = in_transaction(
            self.database,
            lambda s: keys_service.new_period(
                s,
                service_key=self.service_key,
                out=out,
                passphrase=PASSPHRASE,
                not_before=int(NOW) - DAY,
                not_after=int(NOW) + 30 * DAY,
                now=NOW,
            ),
        )
        return period, out

    def add_segment(
        self,
        seg: int,
        *,
        period: keys_service.Period | None = None,
        wrap_o: bool = True,
        accept: str = "good",  # good | none | forged
        device: CounsellorDevice | None = None,
        no_period: bool = False,  # as when no period key was valid at pairing
    ) -> bytes:
        """Segment ``seg`` sealed as the young person's client seals it; returns ``K``."""
        device = device or self.device
        period = period or self.period
        key = secrets.token_bytes(32)
        device_id = b64.decode(device.device_id)
        period_id = b64.decode(period.period_id)
        signer = device.sig_key if accept == "good" else sign.generate_private_key()
        row = Segment(
            conv_id=self.conv_id,
            seg=seg,
            device_id=device.device_id,
            period_id=None if no_period else period.period_id,
            wrap_c=b64.encode(
                certs.seal_segment_key_to_device(
                    hpke.public_key_bytes(device.hpke_key), key, self.conv, seg, device_id
                )
            ),
            wrap_o=b64.encode(
                certs.seal_segment_key_to_period(
                    b64.decode(period.public_key), key, self.conv, seg, period_id
                )
            )
            if wrap_o and not no_period
            else None,
            accept_sig=None
            if accept == "none"
            else b64.encode(certs.sign_acceptance(signer, self.conv, seg, key)),
            created_at=NOW,
        )

        async def add(session: AsyncSession) -> None:
            session.add(row)

        in_transaction(self.database, add)
        self.segment_keys[seg] = key
        return key

    def send(
        self,
        sender: Sender,
        text: str,
        *,
        sent_at: int,
        signed: bool = True,
        signer: ec.EllipticCurvePrivateKey | None = None,
    ) -> Envelope:
        """Store ``sender``'s next text message, encrypted under its segment's key; a role-Y
        one signed as the young person's page signs it (with ``signer`` instead of the page's
        key, or not at all without ``signed``)."""
        envelope = sender.text_envelope(self.segment_keys[sender.seg], text, sent_at=sent_at)
        sig = None
        if envelope.role == "Y" and signed:
            sig = b64.encode(
                youthsig.sign_envelope(
                    signer or self.youth_key,
                    self.conv,
                    envelope.seg,
                    b64.decode(envelope.inst),
                    envelope.seq,
                    b64.decode(envelope.ct),
                )
            )
        row = Envelope(
            conv_id=envelope.conv,
            seg=envelope.seg,
            role=envelope.role,
            inst=envelope.inst,
            seq=envelope.seq,
            ct=envelope.ct,
            sig=sig,
        )

        async def add(session: AsyncSession) -> None:
            session.add(row)

        in_transaction(self.database, add)
        return row

    def forget_youth_key(self) -> None:
        """As a conversation from before PROTOCOL.md §6.7: its ticket holds no page key."""

        async def clear(session: AsyncSession) -> None:
            conversation = await session.get(Conversation, self.conv_id)
            assert conversation is not None
            ticket = await session.get(Ticket, conversation.ticket_id)
            assert ticket is not None
            ticket.youth_sig_key = None

        in_transaction(self.database, clear)

    def sender(self, role: str, seg: int = 0) -> Sender:
        return Sender(conv=self.conv_id, role=role, seg=seg)

    def add_device(
        self, *, certified_by: ec.EllipticCurvePrivateKey | None = None
    ) -> CounsellorDevice:
        return in_transaction(
            self.database,
            lambda s: _add_device(s, self.device.staff_id, certified_by or self.service_key),
        )


async def _add_device(
    session: AsyncSession, staff_id: str, certified_by: ec.EllipticCurvePrivateKey
) -> CounsellorDevice:
    hpke_key, sig_key = hpke.generate_private_key(), sign.generate_private_key()
    device_id = secrets.token_bytes(16)
    not_after = int(NOW) + 30 * DAY
    hpke_pub, sig_pub = hpke.public_key_bytes(hpke_key), sign.public_key_bytes(sig_key)
    certificate = certs.issue_device_cert(
        certified_by, b64.decode(staff_id), device_id, hpke_pub, sig_pub, not_after
    )
    session.add(
        Device(
            id=b64.encode(device_id),
            staff_id=staff_id,
            hpke_public_key=b64.encode(hpke_pub),
            sig_public_key=b64.encode(sig_pub),
            not_after=not_after,
            certificate=b64.encode(certificate),
            created_at=NOW,
            revoked_at=None,
        )
    )
    return CounsellorDevice(staff_id, b64.encode(device_id), hpke_key, sig_key)


async def _conversation(session: AsyncSession, staff_id: str, youth_key: str) -> bytes:
    ticket = Ticket(
        youth_sig_key=youth_key,
        token_digest=secrets.token_hex(32),
        kind="youth",
        language="sv",
        status="assigned",
        joined_at=NOW - 600,
        assigned_at=NOW - 500,
    )
    session.add(ticket)
    await session.flush()
    conv = secrets.token_bytes(16)
    session.add(
        Conversation(
            id=b64.encode(conv),
            ticket_id=ticket.id,
            staff_id=staff_id,
            status="closed",
            opened_at=NOW - 500,
            closed_at=NOW - 100,
            closed_by="Y",
        )
    )
    return conv


def make_world(database: Database, tmp: Path) -> World:
    """A service key file, a registered period key file, a certified device, a conversation."""
    service_key_file = tmp / "service-key.pem"
    service_key = files.create_service_key(service_key_file)

    async def build(session: AsyncSession) -> tuple[CounsellorDevice, bytes]:
        staff = await staff_service.add_staff(
            session,
            username=f"c{secrets.token_hex(4)}",
            alias="Sara",
            password=STAFF_PASSWORD,
            role="counsellor",
            languages=["sv"],
            skills=["youth"],
            capacity=2,
            now=NOW,
            server_secret=bytes(32),  # no login here: the export reads devices, not TOTP
        )
        await session.flush()
        device = await _add_device(session, staff.staff_id, service_key)
        public = b64.encode(sign.public_key_bytes(youth_key))
        return device, await _conversation(session, staff.staff_id, public)

    youth_key = sign.generate_private_key()
    device, conv = in_transaction(database, build)
    world = World(
        database=database,
        tmp=tmp,
        service_key=service_key,
        service_key_file=service_key_file,
        period=None,  # type: ignore[arg-type]  # set just below
        period_file=tmp / "period.pem",
        device=device,
        conv=conv,
        youth_key=youth_key,
    )
    world.period, world.period_file = world.add_period("period.pem")
    return world
