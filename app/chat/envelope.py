"""An envelope: the unit of end-to-end-encrypted chat (CRYPTO.md §4), as stored and relayed.

The server checks an envelope's shape and size only: ``ct`` is base64url text of bounded length
and is never decoded or parsed. The relay, the reference client and the transcript export share
this one definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from app.kit.b64 import is_b64url
from app.kit.errors import ProtocolError

U32_MAX: Final = 2**32 - 1
U63_MAX: Final = 2**63 - 1  # seq is a u64 on the wire; PostgreSQL BIGINT holds 63 bits
#: The largest ``ct`` (base64url characters) that fits in a 64 KiB frame with its headers.
CT_MAX_CHARS: Final = 60 * 1024


_ENVELOPE_FIELDS: Final = frozenset({"v", "cs", "conv", "seg", "role", "inst", "seq", "ct"})
#: A role-Y envelope may carry ``sig``: the young person's page's signature (PROTOCOL.md §6.7).
_SIGNED_FIELDS: Final = _ENVELOPE_FIELDS | {"sig"}


@dataclass(frozen=True, slots=True)
class Envelope:
    conv: str
    seg: int
    role: str
    inst: str
    seq: int
    ct: str
    #: The young person's page's signature (role Y only), shape-checked, never verified here.
    #: Not part of equality: two copies of one envelope are the same envelope, signed or not
    #: (the store keeps the first; the export and the console check the signature).
    sig: str | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple[str, int, str, str, int]:
        """The deduplication key (conv, seg, role, inst, seq)."""
        return (self.conv, self.seg, self.role, self.inst, self.seq)

    def as_dict(self) -> dict[str, object]:
        """The envelope as a JSON object, fields as in ``to_json`` (for frames built as dicts)."""
        out: dict[str, object] = {
            "v": 1,
            "cs": 1,
            "conv": self.conv,
            "seg": self.seg,
            "role": self.role,
            "inst": self.inst,
            "seq": self.seq,
            "ct": self.ct,
        }
        if self.sig is not None:
            out["sig"] = self.sig
        return out

    def to_json(self) -> str:
        """The envelope exactly as it travels and is stored (fixed key order)."""
        return (
            f'{{"v":1,"cs":1,"conv":"{self.conv}","seg":{self.seg},"role":"{self.role}",'
            f'"inst":"{self.inst}","seq":{self.seq},"ct":"{self.ct}"'
            + ("}" if self.sig is None else f',"sig":"{self.sig}"}}')
        )

    def ack_frame(self, *, duplicate: bool) -> str:
        dup = ',"duplicate":true' if duplicate else ""
        return (
            f'{{"type":"ack","conv":"{self.conv}","seg":{self.seg},"inst":"{self.inst}",'
            f'"seq":{self.seq}{dup}}}'
        )

    def delivery_frame(self) -> str:
        return f'{{"type":"envelope","envelope":{self.to_json()}}}'


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_sealed_length(ct: str) -> bool:
    """ct is AES-GCM over a plaintext padded to a multiple of 256 bytes, plus a 16-byte tag.

    Checked from the text length alone: the server never decodes ``ct``.
    """
    if not 0 < len(ct) <= CT_MAX_CHARS or not is_b64url(ct):
        return False
    nbytes = len(ct) * 3 // 4
    return (
        (len(ct) * 6) // 8 == nbytes
        and nbytes >= 272
        and (nbytes - 16) % 256 == 0
        and (len(ct) == (nbytes * 4 + 2) // 3)
    )


def parse_envelope(raw: object) -> Envelope:
    """Check an envelope's shape (CRYPTO.md §4) and return it; raise ``ProtocolError`` otherwise."""
    if not isinstance(raw, dict) or set(raw) not in (_ENVELOPE_FIELDS, _SIGNED_FIELDS):
        raise ProtocolError("bad_envelope", "an envelope has exactly the fields of CRYPTO.md §4")
    if raw["v"] != 1 or not is_int(raw["v"]) or raw["cs"] != 1 or not is_int(raw["cs"]):
        raise ProtocolError("unsupported_version", "only v=1, cs=1 envelopes are accepted")
    conv, seg, role, inst, seq, ct = (raw[k] for k in ("conv", "seg", "role", "inst", "seq", "ct"))
    ref = {"seg": seg, "inst": inst, "seq": seq} if is_int(seg) and is_int(seq) else None
    if not isinstance(conv, str) or not is_b64url(conv, nbytes=16):
        raise ProtocolError("bad_envelope", "conv must be 16 bytes of base64url", ref)
    if not isinstance(inst, str) or not is_b64url(inst, nbytes=16):
        raise ProtocolError("bad_envelope", "inst must be 16 bytes of base64url", ref)
    if not is_int(seg) or not 0 <= seg <= U32_MAX:
        raise ProtocolError("bad_envelope", "seg must be a u32", ref)
    if not is_int(seq) or not 1 <= seq <= U63_MAX:
        raise ProtocolError("bad_envelope", "seq must be a positive integer below 2^63", ref)
    if role not in ("Y", "C"):
        raise ProtocolError("bad_envelope", "role must be Y or C", ref)
    if not isinstance(ct, str) or not _is_sealed_length(ct):
        raise ProtocolError(
            "bad_envelope", "ct must be base64url of 256*k + 16 bytes (padded plaintext + tag)", ref
        )
    sig = raw.get("sig")
    if sig is not None and (
        role != "Y" or not isinstance(sig, str) or not is_b64url(sig, nbytes=64)
    ):
        raise ProtocolError(
            "bad_envelope", "sig is only a role-Y envelope's 64-byte signature (base64url)", ref
        )
    return Envelope(conv=conv, seg=seg, role=role, inst=inst, seq=seq, ct=ct, sig=sig)


@dataclass(frozen=True, slots=True)
class StreamCursor:
    """A ``sync`` cursor: the client holds every ``seq`` ≤ ``seq`` of the stream (a prefix)."""

    seg: int
    role: str
    inst: str
    seq: int


class SeqSet:
    """The seqs held of one stream (seg, role, inst): a contiguous prefix 1..``prefix``, plus
    the seqs seen beyond it (``beyond``), so that a stream stored or sent out of order is
    neither refused as a replay nor taken as complete.

    The relay links, the reference client and the pages (``chat/envelopes.js`` ``SeqSet``)
    keep one per stream: ``add`` what was delivered (receivers: only what decrypted), send
    ``prefix`` as the ``sync`` cursor, and after a sync report ``missing()`` as undelivered.
    """

    __slots__ = ("beyond", "prefix")

    def __init__(self, prefix: int = 0) -> None:
        self.prefix = prefix
        self.beyond: set[int] = set()

    def __contains__(self, seq: object) -> bool:
        return isinstance(seq, int) and (seq <= self.prefix or seq in self.beyond)

    def add(self, seq: int) -> bool:
        """Record ``seq`` (≥ 1); False when it was held already (a duplicate or a replay)."""
        if seq <= self.prefix or seq in self.beyond:
            return False
        if seq == self.prefix + 1:
            self.prefix = seq
            while self.prefix + 1 in self.beyond:
                self.prefix += 1
                self.beyond.discard(self.prefix)
        else:
            self.beyond.add(seq)
        return True

    @property
    def highest(self) -> int:
        return max(self.beyond, default=self.prefix)

    def missing(self) -> int:
        """How many seqs below the highest held are not held (the gaps)."""
        return self.highest - self.prefix - len(self.beyond)

    def gaps(self) -> list[tuple[int, int]]:
        """The missing seqs as inclusive ranges, lowest first."""
        found, after = [], self.prefix
        for seq in sorted(self.beyond):
            if seq > after + 1:
                found.append((after + 1, seq - 1))
            after = seq
        return found


def missing_envelopes(stored: list[Envelope], have: tuple[StreamCursor, ...]) -> list[Envelope]:
    """The stored envelopes (in stored order) above the client's prefix for each stream.

    Everything above the prefix is replayed, also seqs the client may hold beyond it: the
    client drops those as duplicates, and an envelope stored out of order is never skipped.
    """
    cursor = {(c.seg, c.role, c.inst): c.seq for c in have}
    return [e for e in stored if e.seq > cursor.get((e.seg, e.role, e.inst), 0)]
