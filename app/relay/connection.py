"""One WebSocket's plumbing: its sends in order, and the link to each conversation it takes part
in.

``Outbox`` lets handlers and broker callbacks send without awaiting and without interleaving.
``ConversationLink`` relays a conversation's broker channel to the socket with per-stream de-
duplication, and replays stored envelopes on ``sync`` while holding back live ones, so that each
envelope reaches the client at most once per link. Streams are tracked as a contiguous prefix
plus the seqs seen beyond it (``SeqSet``): an envelope stored out of order (1, 3, 2) is relayed
and replayed, never taken for a replay. When the broker says the channel may have missed
messages (``on_missed``: Redis was away, or a publisher dropped some), the link catches up from
the store by itself: every stored envelope of the other side that it has not relayed yet is
sent, so that nothing acknowledged is lost even when no later envelope shows the client a gap
(docs/PROTOCOL.md §4). The catch-up also asks the store whether the conversation ended meanwhile
(``ended``): a lost ``Closed`` is recovered too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from starlette.websockets import WebSocket

from app.chat.envelope import SeqSet, StreamCursor, missing_envelopes
from app.chat.store import EnvelopeStore
from app.events import messages
from app.events.broker import Broker, Unsubscribe
from app.events.channels import conv_channel
from app.kit import eager
from app.relay import frames

log = logging.getLogger(__name__)

#: A socket whose client does not read is closed rather than allowed to grow without bound.
MAX_PENDING_FRAMES = 10_000

Stream = tuple[int, str, str]  # (seg, role, inst)
#: Whether a conversation has ended, as the store says (``None``: it goes on).
EndedCheck = Callable[[str], Awaitable[messages.Closed | None]]


def ended_message(
    conv_id: str, status: str | None, closed_by: str | None
) -> messages.Closed | None:
    """The ``Closed`` a conversation's stored row implies, for a link that may have missed it:
    none while it is open or requeued; ``deleted`` when the row is gone. The stored row keeps no
    finer reason (a quick exit's ``left`` reads as ``closed``)."""
    if status is None:
        return messages.Closed(conv_id, by=closed_by or "C", reason="deleted")
    if status in ("closed", "abandoned"):
        return messages.Closed(conv_id, by=closed_by or "Y", reason=status)
    return None


#: Catch-ups reading the store at once in one process: after a broker outage every link of the
#: process catches up, and they must not take every database connection from the relay.
CATCH_UPS_AT_ONCE = 4
_catch_up_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def catch_up_slot() -> asyncio.Semaphore:
    """This loop's limit on catch-ups from the store at once (links, and tickets reconciling)."""
    loop = asyncio.get_running_loop()
    slot = _catch_up_slots.get(loop)
    if slot is None:
        slot = _catch_up_slots[loop] = asyncio.Semaphore(CATCH_UPS_AT_ONCE)
    return slot


class Outbox:
    """A socket's sends, in order, without awaiting. ``on_error(code)`` is called for each error
    frame sent (the metrics count them).

    A frame is written at once, in the caller's frame (``eager.start``): uvicorn's send only
    waits while the transport's buffer is full. Only then does a writer task take over, and
    later frames queue behind it until it has sent them all; an idle socket holds no task, no
    event and no queue (PERFORMANCE.md P-1, P-2).
    """

    def __init__(self, websocket: WebSocket, on_error: Callable[[str], None] | None = None) -> None:
        self._ws = websocket
        self._on_error = on_error
        #: Frames (and the close) waiting behind a send the transport could not take at once.
        self._items: deque[str | tuple[int, str]] | None = None
        self._writer: asyncio.Task[None] | None = None
        self.closing = False
        #: The client went away under a send: later frames are dropped.
        self._gone = False

    def send(self, text: str) -> None:
        if self.closing or self._gone:
            return
        if self._items is not None:
            if len(self._items) >= MAX_PENDING_FRAMES:
                self.close(1008, "client does not read")
                return
            self._items.append(text)
        else:
            self._write(self._ws.send_text(text))
        # One prefix test per frame: every error frame is built by frames.error.
        if self._on_error is not None and text.startswith(frames.ERROR_PREFIX):
            self._on_error(frames.error_code(text))

    def close(self, code: int, reason: str = "") -> None:
        """Send what is queued, then close with ``code``. Later sends are dropped."""
        if self.closing:
            return
        self.closing = True
        if self._gone:
            return
        if self._items is not None:
            self._items.append((code, reason))
        else:
            self._write(self._ws.close(code, reason))

    def _write(self, send: Coroutine[Any, Any, None]) -> None:
        try:
            rest = eager.start(send)
        except Exception as exc:  # the client went away: nothing to do but stop
            self._stopped(exc)
            return
        if rest is not None:  # the transport is full: a writer finishes this and what follows
            self._items = deque()
            self._writer = asyncio.get_running_loop().create_task(
                self._drain(rest), name="ws-writer"
            )

    async def _drain(self, rest: eager.Rest) -> None:
        items = self._items
        assert items is not None  # noqa: S101 - set by _write before this task starts
        try:
            await rest
            while items:
                item = items.popleft()
                if isinstance(item, tuple):
                    await self._ws.close(item[0], item[1])
                    return
                await self._ws.send_text(item)
        except Exception as exc:  # the client went away mid-send
            self._stopped(exc)
        finally:
            if self._items is items:
                self._items = None
            self._writer = None

    def _stopped(self, exc: Exception) -> None:
        log.debug("writer stopped: %s", type(exc).__name__)
        self._gone = True
        self._items = None

    async def flush(self, timeout: float) -> None:
        """Wait until what is queued is sent (at most ``timeout`` seconds; then drop it)."""
        writer = self._writer
        if writer is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(writer), timeout=timeout)
        except TimeoutError:
            await stop([writer])


class ConversationLink:
    """A socket's subscription to one conversation, for the side ``role``."""

    def __init__(
        self,
        conv_id: str,
        role: str,
        outbox: Outbox,
        store: EnvelopeStore,
        broker: Broker,
        on_closed: Callable[[str], None],
        *,
        min_seg: int = 0,
        top_seg: int = -1,
        ended: EndedCheck | None = None,
    ) -> None:
        self.conv_id = conv_id
        self.role = role
        #: Segments before this are not relayed: a counsellor who took the chat over holds no key
        #: for them (CRYPTO.md §5), so they would only show as unreadable.
        self.min_seg = min_seg
        #: The newest segment this socket knows of (from pairing, hello or assignment): an
        #: envelope for a later one is checked against the database before it is refused.
        self.top_seg = top_seg
        self.segment_checked = float("-inf")
        self._outbox = outbox
        self._store = store
        self._broker = broker
        self._on_closed = on_closed
        self._ended = ended
        self._delivered: dict[Stream, SeqSet] = {}
        self._syncing = 0
        #: Until the client's first sync, live envelopes are held so that replay comes first.
        self._awaiting_sync = False
        self._held: list[messages.EnvelopeRelayed] = []
        self._unsubscribe: Unsubscribe | None = None
        #: The running catch-up (``on_missed``), and whether another one was asked for meanwhile.
        self._catching_up: asyncio.Task[None] | None = None
        self._catch_up_again = False

    async def open(self, *, catch_up: bool) -> None:
        """Subscribe to the conversation.

        With ``catch_up`` (a new pairing: the client has nothing yet) the other side's stored
        envelopes are sent at once. Without it (a reconnect) live envelopes are held until the
        client's first ``sync`` says what it already has.
        """
        self._awaiting_sync = not catch_up
        self._unsubscribe = await self._broker.subscribe(
            conv_channel(self.conv_id), self._on_event, on_missed=self._on_missed
        )
        if catch_up:
            await self.sync((), own_streams=False, announce=False)
        # Ended before the subscription (a young person who leaves as soon as paired): its
        # Closed went by before this link could hear it.
        await self._closed_meanwhile()

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._catching_up is not None:
            self._catching_up.cancel()
            self._catching_up = None

    def _on_missed(self) -> None:
        """The broker may have lost envelopes of this conversation: catch up from the store."""
        if self._unsubscribe is None:
            return
        if self._catching_up is not None:
            self._catch_up_again = True  # the running one may have read before the loss
            return
        self._catching_up = asyncio.get_running_loop().create_task(self._catch_up_loop())

    async def _catch_up_loop(self) -> None:
        try:
            while True:
                self._catch_up_again = False
                try:
                    async with catch_up_slot():
                        await self.catch_up()
                except Exception as exc:  # the database is down too: the client's sync recovers
                    log.warning("catch-up from the store failed: %s", type(exc).__name__)
                if not self._catch_up_again:
                    return
        finally:
            self._catching_up = None

    async def catch_up(self) -> None:
        """Relay every stored envelope of the other side not relayed on this link yet (in
        stored order, with live ones held meanwhile). Before the client's first ``sync`` there
        is nothing to do: that sync replays from the store anyway."""
        if self._awaiting_sync:
            return
        self._syncing += 1
        try:
            stored = await self._store.read(self.conv_id)
        finally:
            self._syncing -= 1
        for envelope in stored:
            if envelope.role != self.role and envelope.seg >= self.min_seg:
                stream = (envelope.seg, envelope.role, envelope.inst)
                self._deliver(stream, envelope.seq, envelope.delivery_frame())
        self._release_held()
        await self._closed_meanwhile()

    async def _closed_meanwhile(self) -> None:
        """Say ``closed`` if the store says the conversation ended (its ``Closed`` lost)."""
        if self._ended is not None:
            closed = await self._ended(self.conv_id)
            if closed is not None and self._unsubscribe is not None:  # not closed meanwhile
                self._closed(closed)

    async def sync(
        self, have: tuple[StreamCursor, ...], *, own_streams: bool = True, announce: bool = True
    ) -> None:
        """Send every stored envelope beyond the client's cursors, then ``synced``.

        The client's cursors alone decide what is replayed (a lost live event is recovered even
        if later ones were delivered); live envelopes that arrive meanwhile are held and then
        sent unless already replayed. Raises what the store raises when the database is down.
        """
        self._syncing += 1
        try:
            stored = await self._store.read(self.conv_id)
        finally:
            self._syncing -= 1
        self._awaiting_sync = False
        for envelope in missing_envelopes(stored, have):
            if envelope.seg < self.min_seg:
                continue
            if own_streams or envelope.role != self.role:
                self._deliver(
                    (envelope.seg, envelope.role, envelope.inst),
                    envelope.seq,
                    envelope.delivery_frame(),
                    force=True,
                )
        self._release_held()
        if announce:
            self._outbox.send(frames.synced(self.conv_id))

    def _release_held(self) -> None:
        if not self._syncing:
            held, self._held = self._held, []
            for relayed in held:
                self._on_envelope(relayed)

    def learned_segment(self, seg: int) -> None:
        """Segment ``seg`` of the conversation exists (it was read or announced)."""
        self.top_seg = max(self.top_seg, seg)

    def _deliver(self, stream: Stream, seq: int, frame: str, *, force: bool = False) -> None:
        delivered = self._delivered.get(stream)
        if delivered is None:
            delivered = self._delivered[stream] = SeqSet()
        if not delivered.add(seq) and not force:
            return
        self._outbox.send(frame)

    def _on_event(self, text: str) -> None:
        if text.startswith("E|"):  # the hot path: no JSON, and no lookup by type
            try:
                relayed = messages.parse_envelope_event(text)
            except messages.BadMessage as exc:
                log.warning("dropped a conversation message: %s", exc)
                return
            self._on_envelope(relayed)
            return
        try:
            message = messages.decode(text)
        except messages.BadMessage as exc:
            log.warning("dropped a conversation message: %s", exc)
            return
        match message:
            case messages.Signal(role=role, frame=frame):
                if role != self.role:
                    self._outbox.send(frame)
            case messages.Closed():
                self._closed(message)
            case _:
                log.warning("dropped a %s on a conversation channel", type(message).__name__)

    def _closed(self, message: messages.Closed) -> None:
        self._outbox.send(frames.closed(message))
        self._on_closed(self.conv_id)

    def _on_envelope(self, relayed: messages.EnvelopeRelayed) -> None:
        if relayed.role == self.role or relayed.seg < self.min_seg:
            return
        if self._syncing or self._awaiting_sync:
            if len(self._held) < MAX_PENDING_FRAMES:
                self._held.append(relayed)
            return
        self._deliver((relayed.seg, relayed.role, relayed.inst), relayed.seq, relayed.frame)


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
