"""What both kinds of socket do: conversation links, envelopes, sync, signals, and closing.

Handlers never await the database on the envelope path: an envelope is submitted to the
group-commit store, and its ack and relay happen in the store's done-callback, in submission
order. Everything else (join, resume, close, duty) is a short transaction.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import repository as chat_repository
from app.chat import segments
from app.chat.envelope import Envelope
from app.chat.sealing import Sealer
from app.chat.store import EnvelopeStore
from app.db import transaction
from app.events import messages
from app.events.broker import Unsubscribe
from app.events.channels import conv_channel
from app.events.messages import encode, envelope_event
from app.kit.errors import ProtocolError
from app.relay import frames, protocol
from app.relay.connection import ConversationLink, Outbox, ended_message
from app.state import AppState
from app.triage import service as triage_service
from app.triage.announce import publish_closed
from app.triage.dispatcher import Dispatcher

log = logging.getLogger(__name__)

#: Envelopes a socket may have waiting for commit before its reader pauses.
MAX_IN_FLIGHT = 256


def unavailable() -> ProtocolError:
    return ProtocolError("unavailable", "the service cannot store this right now; try again")


class SocketHandler(abc.ABC):
    """One socket's side of the relay, for the side ``role`` (``Y`` or ``C``).

    The endpoint calls ``start()`` once, then ``handle(frame)`` for each parsed frame in turn,
    then ``stop()`` once whatever happened. ``handle`` raises ``ProtocolError`` for a frame it
    refuses; the endpoint answers it with an error frame and the socket stays open.
    """

    role: str
    # Slots, not a __dict__ per socket: 10,000 of them wait at once (PERFORMANCE.md P-1).
    __slots__ = (
        "_in_flight",
        "_unsubscribes",
        "dispatcher",
        "links",
        "outbox",
        "sealer",
        "state",
        "store",
    )

    def __init__(
        self,
        state: AppState,
        store: EnvelopeStore,
        sealer: Sealer,
        dispatcher: Dispatcher,
        outbox: Outbox,
    ) -> None:
        self.state = state
        self.store = store
        self.sealer = sealer
        self.dispatcher = dispatcher
        self.outbox = outbox
        self.links: dict[str, ConversationLink] = {}
        self._unsubscribes: list[Unsubscribe] = []
        #: Envelopes submitted and not committed yet (a set only once the socket sends one).
        self._in_flight: set[asyncio.Future[bool]] | None = None

    async def start(self) -> None:
        return None

    @abc.abstractmethod
    async def handle(self, frame: protocol.Frame) -> None: ...

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribes:
            unsubscribe()
        for link in self.links.values():
            link.close()
        self.links.clear()

    async def _subscribe(
        self,
        channel: str,
        handler: Callable[[str], None],
        on_missed: Callable[[], None] | None = None,
    ) -> None:
        self._unsubscribes.append(
            await self.state.broker.subscribe(channel, handler, on_missed=on_missed)
        )

    def _new_link(self, conv_id: str, *, min_seg: int = 0, top_seg: int = -1) -> ConversationLink:
        """A link to ``conv_id``, registered at once (before any await), not yet subscribed."""
        link = ConversationLink(
            conv_id,
            self.role,
            self.outbox,
            self.store,
            self.state.broker,
            self._on_closed,
            min_seg=min_seg,
            top_seg=top_seg,
            ended=self._ended_in_store,
        )
        self.links[conv_id] = link
        return link

    async def _open_link(
        self, conv_id: str, *, catch_up: bool, min_seg: int = 0, top_seg: int = -1
    ) -> ConversationLink:
        link = self._new_link(conv_id, min_seg=min_seg, top_seg=top_seg)
        await link.open(catch_up=catch_up)
        return link

    async def _ended_in_store(self, conv_id: str) -> messages.Closed | None:
        """How the store says ``conv_id`` ended, if it did (a link's catch-up asks)."""
        async with self.state.sessionmaker() as session:
            row = await chat_repository.conversation_row(session, conv_id)
        if row is None:
            return ended_message(conv_id, None, None)
        return ended_message(conv_id, row.status, row.closed_by)

    def _on_closed(self, conv_id: str) -> None:
        link = self.links.pop(conv_id, None)
        if link is not None:
            link.close()

    def _link_for(self, conv_id: str | None) -> ConversationLink:
        if conv_id is None and len(self.links) == 1:
            return next(iter(self.links.values()))
        link = self.links.get(conv_id or "")
        if link is None:
            raise ProtocolError("not_in_conversation", "you are not in that conversation")
        return link

    # ------------------------------------------------------------------ shared frames

    async def _envelope(self, envelope: Envelope) -> None:
        ref = {"seg": envelope.seg, "inst": envelope.inst, "seq": envelope.seq}
        link = self.links.get(envelope.conv)
        if link is None:
            raise ProtocolError("not_in_conversation", "you are not in that conversation", ref)
        if envelope.role != self.role:
            raise ProtocolError("role_mismatch", f"your envelopes have role {self.role}", ref)
        if not link.min_seg <= envelope.seg <= link.top_seg:  # never true on the hot path
            await self._check_segment(link, envelope.seg, ref)
        future = self.store.submit(envelope)
        in_flight = self._in_flight
        if in_flight is None:
            in_flight = self._in_flight = set()
        in_flight.add(future)
        future.add_done_callback(lambda f: self._committed(envelope, f))
        if len(in_flight) >= MAX_IN_FLIGHT:
            await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)

    async def _check_segment(
        self, link: ConversationLink, seg: int, ref: dict[str, object]
    ) -> None:
        """Refuse an envelope for a segment that does not exist (or is not this side's).

        The socket learns its conversations' segments when it pairs, says hello or is
        assigned; only an envelope beyond the newest one it knows costs a read, at most one
        per link and second, so a client cannot make every envelope a query.
        """
        now = self.state.clock()
        if seg > link.top_seg and seg >= link.min_seg and now - link.segment_checked >= 1.0:
            link.segment_checked = now
            try:
                state = await self._segment_state(link.conv_id)
            except Exception as exc:
                raise ProtocolError("unavailable", "not stored; send it again", ref) from exc
            if state is not None:
                link.learned_segment(state.seg)
        if not link.min_seg <= seg <= link.top_seg:
            raise ProtocolError(
                "unknown_segment", "this conversation has no such segment for you", ref
            )

    def _committed(self, envelope: Envelope, future: asyncio.Future[bool]) -> None:
        if self._in_flight is not None:
            self._in_flight.discard(future)
        if future.cancelled():
            return
        if future.exception() is not None:
            ref = {"seg": envelope.seg, "inst": envelope.inst, "seq": envelope.seq}
            self.outbox.send(frames.not_stored(ref))
            return
        new = future.result()
        self.outbox.send(envelope.ack_frame(duplicate=not new))
        if new:
            self.state.broker.publish(conv_channel(envelope.conv), envelope_event(envelope))
            self.state.metrics.envelopes_relayed.inc()

    async def _sync(self, frame: protocol.Sync) -> None:
        link = self._link_for(frame.conv)
        try:
            await link.sync(frame.have)
        except Exception as exc:
            log.warning("sync failed: %s", type(exc).__name__)
            raise unavailable() from exc

    def _signal(self, conv_id: str, frame: str) -> None:
        """Relay ``frame`` to the other side's sockets of ``conv_id`` (never stored)."""
        self.state.broker.publish(conv_channel(conv_id), encode(messages.Signal(self.role, frame)))

    def _decode(self, text: str) -> messages.Message | None:
        """The broker message of ``text``, or None (logged) for text that is none."""
        try:
            return messages.decode(text)
        except messages.BadMessage as exc:
            log.warning("dropped a broker message: %s", exc)
            return None

    def _undecryptable(self, frame: protocol.Undecryptable) -> None:
        """Tell the sender's side that an envelope could not be opened (never stored)."""
        link = self._link_for(frame.conv)
        body = frames.undecryptable(link.conv_id, frame.seg, frame.role, frame.inst, frame.seq)
        self._signal(link.conv_id, body)

    async def _segment_state(self, conv_id: str) -> segments.SegmentState | None:
        async with self.state.sessionmaker() as session:
            return await segments.current_segment(session, self.sealer, conv_id)

    def _typing(self, frame: protocol.Signal) -> None:
        link = self._link_for(frame.conv)
        body = frames.typing(link.conv_id, frame.typing)
        self._signal(link.conv_id, body)

    async def _close_conversation(
        self,
        conv_id: str,
        *,
        reason: str,
        also: Callable[[AsyncSession], Awaitable[None]] | None = None,
    ) -> None:
        """Close the conversation; ``also`` runs in the same transaction if it did close."""
        try:
            async with transaction(self.state.sessionmaker) as session:
                closed = await triage_service.close(
                    session, conv_id, by=self.role, now=self.state.clock()
                )
                if closed and also is not None:
                    await also(session)
        except Exception as exc:
            raise unavailable() from exc
        if closed:
            publish_closed(
                self.state.broker, conv_id, by=self.role, reason=reason, offer_to=closed.offer_to
            )
            self.dispatcher.request_match()
