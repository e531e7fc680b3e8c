"""What each socket does with its frames and its broker events: the youth and staff sides.

Handlers never await the database on the envelope path: an envelope is submitted to the
group-commit store, and its ack and relay happen in the store's done-callback, in submission
order. Everything else (join, resume, close, duty) is a short transaction.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import repository as chat_repo
from app.chat import segments
from app.chat.envelope import Envelope
from app.chat.store import EnvelopeStore
from app.db import lock_matching, transaction
from app.events import messages
from app.events.broker import Unsubscribe
from app.events.channels import conv_channel, staff_channel, ticket_channel
from app.events.messages import encode, envelope_event
from app.keys.devices import DeviceCert
from app.kit.errors import NotFound, ProtocolError
from app.kit.ids import new_token, token_digest
from app.models import Staff
from app.relay import frames, protocol
from app.relay.connection import ConversationLink, Outbox
from app.security import service as security_service
from app.staff import repository as staff_repo
from app.staff import shifts
from app.state import AppState
from app.triage import handover, transfers
from app.triage import service as triage_service
from app.triage.announce import announce, publish_closed
from app.triage.dispatcher import Dispatcher
from app.triage.engine import QueueKey
from app.triage.positions import Standing

log = logging.getLogger(__name__)

#: Envelopes a socket may have waiting for commit before its reader pauses.
MAX_IN_FLIGHT = 256
#: How often an open console re-checks its session and its open conversations.
SESSION_CHECK_SECONDS = 5.0


def _unavailable() -> ProtocolError:
    return ProtocolError("unavailable", "the service cannot store this right now; try again")


class SocketHandler(abc.ABC):
    role: str

    def __init__(
        self, state: AppState, store: EnvelopeStore, dispatcher: Dispatcher, outbox: Outbox
    ) -> None:
        self.state = state
        self.store = store
        self.dispatcher = dispatcher
        self.outbox = outbox
        self.links: dict[str, ConversationLink] = {}
        self._unsubscribes: list[Unsubscribe] = []
        self._in_flight: set[asyncio.Future[bool]] = set()

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

    async def _subscribe(self, channel: str, handler: Callable[[str], None]) -> None:
        self._unsubscribes.append(await self.state.broker.subscribe(channel, handler))

    def _new_link(self, conv_id: str, *, min_seg: int = 0) -> ConversationLink:
        """A link to ``conv_id``, registered at once (before any await), not yet subscribed."""
        link = ConversationLink(
            conv_id,
            self.role,
            self.outbox,
            self.store,
            self.state.broker,
            self._on_closed,
            min_seg=min_seg,
        )
        self.links[conv_id] = link
        return link

    async def _open_link(
        self, conv_id: str, *, catch_up: bool, min_seg: int = 0
    ) -> ConversationLink:
        link = self._new_link(conv_id, min_seg=min_seg)
        await link.open(catch_up=catch_up)
        return link

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
        if envelope.conv not in self.links:
            raise ProtocolError("not_in_conversation", "you are not in that conversation", ref)
        if envelope.role != self.role:
            raise ProtocolError("role_mismatch", f"your envelopes have role {self.role}", ref)
        future = self.store.submit(envelope)
        self._in_flight.add(future)
        future.add_done_callback(lambda f: self._committed(envelope, f))
        if len(self._in_flight) >= MAX_IN_FLIGHT:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)

    def _committed(self, envelope: Envelope, future: asyncio.Future[bool]) -> None:
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

    async def _sync(self, frame: protocol.Sync) -> None:
        link = self._link_for(frame.conv)
        try:
            await link.sync(frame.have)
        except Exception as exc:
            log.warning("sync failed: %s", type(exc).__name__)
            raise _unavailable() from exc

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
            return await segments.current_segment(session, conv_id)

    def _typing(self, frame: protocol.Signal) -> None:
        link = self._link_for(frame.conv)
        body = frames.typing(link.conv_id, frame.typing)
        self._signal(link.conv_id, body)

    async def _close_conversation(self, conv_id: str, *, reason: str) -> None:
        try:
            async with transaction(self.state.sessionmaker) as session:
                closed = await triage_service.close(
                    session, conv_id, by=self.role, now=self.state.clock()
                )
        except Exception as exc:
            raise _unavailable() from exc
        if closed:
            publish_closed(
                self.state.broker, conv_id, by=self.role, reason=reason, offer_to=closed.offer_to
            )
            self.dispatcher.request_match()


# ====================================================================== young person


class YouthHandler(SocketHandler):
    """new -> waiting -> chat -> ended; or new -> (resume) -> waiting | chat."""

    role = "Y"

    def __init__(
        self,
        state: AppState,
        store: EnvelopeStore,
        dispatcher: Dispatcher,
        outbox: Outbox,
        bucket: str,
    ) -> None:
        super().__init__(state, store, dispatcher, outbox)
        self._bucket = bucket
        self._instance = new_token()
        self.ticket_id: int | None = None
        self._token_digest: str | None = None
        self._replaced = False
        self.phase = "new"
        self._unwatch: Callable[[], None] | None = None

    async def handle(self, frame: protocol.Frame) -> None:
        match frame:
            case protocol.Join() if self.phase == "new":
                await self._join(frame)
            case protocol.Resume() if self.phase == "new":
                await self._resume(frame)
            case protocol.Leave() | protocol.Close() if self.phase == "waiting" and self.links:
                # Waiting again after a transfer or requeue: leaving ends the conversation.
                await self._close_conversation(next(iter(self.links)), reason="left")
            case protocol.Leave() if self.phase == "waiting":
                await self._leave()
            case protocol.SendEnvelope() if self.phase == "chat":
                await self._envelope(frame.envelope)
            case protocol.Sync() if self.phase == "chat":
                await self._sync(frame)
            case protocol.Close() if self.phase == "chat":
                await self._close_conversation(self._link_for(frame.conv).conv_id, reason="closed")
            case protocol.Signal() if self.phase == "chat":
                self._typing(frame)
            case protocol.Keys() if self.phase == "chat":
                await self._keys(frame)
            case protocol.ReturnCode() if self.phase == "chat":
                await self._return_code(frame)
            case protocol.ShareHistory() if self.phase == "chat":
                await self._share_history(frame)
            case protocol.Undecryptable() if self.phase == "chat":
                self._undecryptable(frame)
            case _:
                raise ProtocolError("wrong_state", f"not possible now (state: {self.phase})")

    async def _join(self, frame: protocol.Join) -> None:
        now = self.state.clock()
        if not self.state.join_limits.hit(self._bucket, now):
            retry = int(self.state.join_limits.retry_after(self._bucket, now)) + 1
            self.outbox.send(frames.too_many_joins(retry))
            self.outbox.close(frames.REFUSAL_CLOSE, "try again later")
            return
        token = new_token()
        self._token_digest = token_digest(token)
        try:
            async with transaction(self.state.sessionmaker) as session:
                ticket = await triage_service.join(
                    session,
                    frame.triage,
                    setup=self.dispatcher.setup,
                    token_digest=self._token_digest,
                    now=now,
                )
                ticket_id, queue = ticket.id, str(QueueKey(ticket.kind, ticket.skill))
        except triage_service.BadTriage as exc:
            raise ProtocolError("bad_triage", exc.message) from None
        except triage_service.EntryRefused as exc:
            self.outbox.send(frames.refusal(exc.decision, exc.message))
            self.outbox.close(frames.REFUSAL_CLOSE, exc.code)
            return
        except Exception as exc:
            raise _unavailable() from exc
        await self._became_ticket(ticket_id)
        self.outbox.send(frames.ticket(token, queue))
        await self._wait()
        self.dispatcher.queue_changed()
        self.dispatcher.request_match()

    async def _resume(self, frame: protocol.Resume) -> None:
        try:
            async with transaction(self.state.sessionmaker) as session:
                ticket = await triage_service.resume(session, token_digest(frame.ticket))
                if ticket.status in ("waiting", "assigned"):
                    await triage_service.set_presence(
                        session, ticket.ticket_id, present=True, now=self.state.clock()
                    )
        except NotFound:
            raise ProtocolError("ticket_unknown", "this ticket is not valid") from None
        except Exception as exc:
            raise _unavailable() from exc
        if ticket.status not in ("waiting", "assigned") or (
            ticket.conversation is not None
            and ticket.conversation.status not in ("open", "requeued")
        ):
            self.outbox.send(frames.ended())
            self.outbox.close(1000)
            return
        self._token_digest = token_digest(frame.ticket)
        await self._became_ticket(ticket.ticket_id)
        self.state.broker.publish(
            ticket_channel(ticket.ticket_id),
            encode(messages.Replaced(by=self._instance)),
        )
        conv = ticket.conversation
        if conv is None:
            self.outbox.send(frames.resumed(ticket.kind))
            await self._wait()
            self.dispatcher.request_match()
        elif conv.status == "requeued":
            # Waiting again for a counsellor: the transcript so far stays reachable (sync).
            self.outbox.send(frames.resumed(ticket.kind, conv.id, requeued=True))
            await self._open_link(conv.id, catch_up=False)
            await self._wait()
            self.dispatcher.request_match()
        else:
            self.outbox.send(frames.resumed(ticket.kind, conv.id))
            await self._chat(conv.id, conv.alias, catch_up=False)
            self._announce_presence(conv.id, present=True)

    async def _became_ticket(self, ticket_id: int) -> None:
        self.ticket_id = ticket_id
        await self._subscribe(ticket_channel(ticket_id), self._on_ticket_event)

    async def _wait(self) -> None:
        assert self.ticket_id is not None  # noqa: S101 - set by _became_ticket
        self.phase = "waiting"
        self._unwatch = self.dispatcher.watch(self.ticket_id, self._on_place)

    def _on_place(self, standing: Standing | None) -> None:
        if standing is None:
            # Not waiting any more, yet no "paired" reached us (a lost broker message): ask the
            # database what happened to the ticket.
            self._background(asyncio.get_running_loop().create_task(self._reconcile()))
            return
        self.outbox.send(frames.position(standing.place, standing.estimate))

    def _on_ticket_event(self, text: str) -> None:
        match self._decode(text):
            case messages.Paired(conv=conv, alias=alias) if self.phase == "waiting" or (
                self.phase == "chat" and conv in self.links
            ):
                # A first pairing, a requeued chat taken again, or a transfer to a colleague:
                # each comes with a new key segment for the new counsellor.
                task = asyncio.get_running_loop().create_task(
                    self._chat(conv, alias, catch_up=True)
                )
                self._background(task)
            case messages.Requeued(conv=conv) if self.phase == "chat":
                self.outbox.send(frames.requeued(conv))
                self.phase = "waiting"
                assert self.ticket_id is not None  # noqa: S101 - a chat has a ticket
                self._unwatch = self.dispatcher.watch(self.ticket_id, self._on_place)
            case messages.Replaced(by=by) if by != self._instance:
                self._replaced = True
                self.outbox.send(frames.replaced())
                self.outbox.close(4001, "replaced")

    async def _reconcile(self) -> None:
        if self.phase != "waiting" or self._token_digest is None:
            return
        async with self.state.sessionmaker() as session:
            ticket = await triage_service.resume(session, self._token_digest)
        conv = ticket.conversation
        if self.phase == "waiting" and conv is not None and conv.status == "open":
            await self._chat(conv.id, conv.alias, catch_up=True)
        elif self.phase == "waiting" and ticket.status not in ("waiting", "assigned"):
            self.phase = "ended"
            self.outbox.send(frames.ended())
            self.outbox.close(1000)

    def _background(self, task: asyncio.Task[None]) -> None:
        def done(t: asyncio.Task[None]) -> None:
            if not t.cancelled() and t.exception() is not None:
                log.error("youth pairing failed: %s", type(t.exception()).__name__)
                self.outbox.close(1011, "internal error")

        task.add_done_callback(done)

    async def _chat(self, conv_id: str, alias: str, *, catch_up: bool) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        self.phase = "chat"
        state = await self._segment_state(conv_id)
        if state is None:  # every conversation starts with segment 0; this is a bug
            raise RuntimeError("a conversation without a key segment")
        self.outbox.send(frames.paired(conv_id, alias, state))
        if conv_id not in self.links:
            await self._open_link(conv_id, catch_up=catch_up)
        if state.accept_sig is None:
            # An acceptance published before the link subscribed would be lost: read it again.
            again = await self._segment_state(conv_id)
            if again is not None and again.accept_sig is not None:
                self.outbox.send(frames.accepted(conv_id, again.seg, again.accept_sig))

    async def _keys(self, frame: protocol.Keys) -> None:
        link = self._link_for(frame.conv)
        try:
            async with transaction(self.state.sessionmaker) as session:
                state = await segments.store_keys(session, frame)
        except ProtocolError:
            raise
        except Exception as exc:
            raise _unavailable() from exc
        self._signal(link.conv_id, frames.keys(state))
        self.outbox.send(frames.keys_stored(link.conv_id, frame.seg))

    async def _share_history(self, frame: protocol.ShareHistory) -> None:
        link = self._link_for(frame.conv)
        try:
            async with transaction(self.state.sessionmaker) as session:
                device_id = await segments.share_history(session, frame, self.state.clock())
                shared = await segments.shared_history(session, link.conv_id, device_id)
        except ProtocolError:
            raise
        except Exception as exc:
            raise _unavailable() from exc
        for item in shared:
            body = frames.history(link.conv_id, item)
            self._signal(link.conv_id, body)
        self.outbox.send(frames.history_shared(link.conv_id))

    async def _return_code(self, frame: protocol.ReturnCode) -> None:
        link = self._link_for(frame.conv)
        try:
            async with transaction(self.state.sessionmaker) as session:
                await segments.store_return_wrap(session, frame, self.state.clock())
        except ProtocolError:
            raise
        except Exception as exc:
            raise _unavailable() from exc
        self.outbox.send(frames.return_code_stored(link.conv_id, frame.seg))

    async def _leave(self) -> None:
        assert self.ticket_id is not None  # noqa: S101 - phase waiting implies a ticket
        try:
            async with transaction(self.state.sessionmaker) as session:
                await triage_service.leave(session, self.ticket_id, self.state.clock())
        except Exception as exc:
            raise _unavailable() from exc
        self.phase = "ended"
        self.outbox.send(frames.left())
        self.outbox.close(1000)
        self.dispatcher.queue_changed()

    def _on_closed(self, conv_id: str) -> None:
        super()._on_closed(conv_id)
        self.phase = "ended"
        self.outbox.close(1000)

    def _announce_presence(self, conv_id: str, *, present: bool) -> None:
        """Tell the counsellor the young person's connection went or came back (never stored)."""
        frame = frames.presence(conv_id, present)
        self._signal(conv_id, frame)

    async def stop(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
        if self.phase == "chat" and not self._replaced:
            for conv_id in self.links:
                self._announce_presence(conv_id, present=False)
        await super().stop()
        if self.ticket_id is not None and self.phase in ("waiting", "chat") and not self._replaced:
            try:
                async with transaction(self.state.sessionmaker) as session:
                    await triage_service.set_presence(
                        session, self.ticket_id, present=False, now=self.state.clock()
                    )
            except Exception:
                log.warning("could not record a youth disconnect")


# ====================================================================== counsellor


class StaffHandler(SocketHandler):
    role = "C"

    def __init__(
        self,
        state: AppState,
        store: EnvelopeStore,
        dispatcher: Dispatcher,
        outbox: Outbox,
        staff: Staff,
        session_digest: str,
        device: DeviceCert | None,
    ) -> None:
        super().__init__(state, store, dispatcher, outbox)
        self.device = device
        self.staff_id = staff.id
        self.alias = staff.alias
        self.staff_role = staff.role
        self.on_duty = staff.on_duty
        self._session_digest = session_digest
        self._instance = secrets.token_hex(8)
        self._last_activity = state.clock()
        self._watcher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._subscribe(staff_channel(self.staff_id), self._on_staff_event)
        self._watcher = asyncio.get_running_loop().create_task(self._watch())
        self.state.presence[self.staff_id] = self.state.presence.get(self.staff_id, 0) + 1
        async with self.state.sessionmaker() as session:
            convs = await chat_repo.open_conversations_of(session, self.staff_id)
        listed = []
        for conv in convs:
            state, since = await self._console_view(conv.id)
            await self._open_link(conv.id, catch_up=False, min_seg=since)
            listed.append(
                frames.console_conversation(conv.id, conv.kind, conv.language, conv.urgent, state)
            )
        self.outbox.send(
            frames.hello(
                self.alias,
                self.staff_role,
                on_duty=self.on_duty,
                device=None if self.device is None else self.device.device_id,
                conversations=listed,
            )
        )
        for conv in convs:
            await self._send_history(conv.id)

    async def _send_history(self, conv_id: str) -> None:
        """Earlier conversations the young person shared with this device (CRYPTO.md §5)."""
        if self.device is None:
            return
        async with self.state.sessionmaker() as session:
            shared = await segments.shared_history(session, conv_id, self.device.device_id)
        for item in shared:
            self.outbox.send(frames.history(conv_id, item))

    async def _watch(self) -> None:
        """Every ``SESSION_CHECK_SECONDS``: end the socket with its session (R-3, R-11), and
        pick up any assignment whose broker message was lost."""
        while True:
            await asyncio.sleep(SESSION_CHECK_SECONDS)
            try:
                async with transaction(self.state.sessionmaker) as session:
                    live = await security_service.keep_alive(
                        session,
                        self.state.settings,
                        self._session_digest,
                        last_activity=self._last_activity,
                        now=self.state.clock(),
                    )
                    if live:
                        await shifts.heartbeat(session, self.staff_id, self.state.clock())
                    convs = await chat_repo.open_conversations_of(session, self.staff_id)
            except Exception as exc:
                log.warning("console session check failed: %s", type(exc).__name__)
                continue
            if not live:
                self.outbox.send(frames.logged_out())
                self.outbox.close(1008, "session ended")
                return
            for conv in convs:
                if conv.id not in self.links:
                    await self._assigned(
                        messages.Assigned(conv.id, conv.kind, conv.language, conv.urgent)
                    )

    async def handle(self, frame: protocol.Frame) -> None:
        self._last_activity = self.state.clock()
        match frame:
            case protocol.Duty():
                await self._duty(frame.on)
            case protocol.SendEnvelope():
                await self._envelope(frame.envelope)
            case protocol.Sync():
                await self._sync(frame)
            case protocol.Close():
                link = self._link_for(frame.conv)
                await self._close_conversation(link.conv_id, reason="closed")
            case protocol.Signal():
                self._typing(frame)
            case protocol.Accept():
                await self._accept(frame)
            case protocol.Undecryptable():
                self._undecryptable(frame)
            case protocol.Transfer():
                await self._transfer(frame)
            case protocol.OfferAnswer():
                await self._answer_offer(frame)
            case _:
                raise ProtocolError("wrong_state", "not possible on this socket")

    async def _duty(self, on: bool) -> None:
        if on and self.device is None:
            raise ProtocolError(
                "device_required",
                "register this device (after a fresh login) and connect with ?device=<id>",
            )
        device_id = None if self.device is None else self.device.device_id
        try:
            async with transaction(self.state.sessionmaker) as session:
                await staff_repo.set_duty(
                    session, self.staff_id, on, self.state.clock(), device_id=device_id
                )
        except Exception as exc:
            raise _unavailable() from exc
        self.state.broker.publish(staff_channel(self.staff_id), encode(messages.Duty(on=on)))
        if on:
            self.dispatcher.request_match()
        elif self.links:
            # Ending a shift with chats still open: the console asks to transfer or finish them.
            self.outbox.send(frames.open_chats(sorted(self.links)))

    def _on_staff_event(self, text: str) -> None:
        match message := self._decode(text):
            case messages.Assigned(conv=conv) if conv not in self.links:
                task = asyncio.get_running_loop().create_task(self._assigned(message))
                task.add_done_callback(self._report)
            case messages.Duty(on=on):
                self.on_duty = on
                self.outbox.send(frames.duty(self.on_duty))
            case messages.Transferred(conv=conv):
                link = self.links.pop(conv, None)
                if link is not None:
                    link.close()
                    self.outbox.send(frames.transferred(message))
            case messages.Offer():
                self.outbox.send(frames.offer(message))
            case messages.OfferWithdrawn():
                self.outbox.send(frames.offer_withdrawn(message))
            case messages.TransferPending():
                self.outbox.send(frames.transfer_pending(message))
            case messages.TransferReturned():
                self.outbox.send(frames.transfer_returned(message))
            case messages.Logout(session=session) if session in (
                messages.ALL_SESSIONS,
                self._session_digest,
            ):
                self.outbox.send(frames.logged_out())
                self.outbox.close(1008, "logged out")

    def _report(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("console assignment failed: %s", type(task.exception()).__name__)
            self.outbox.close(1011, "internal error")

    async def _assigned(self, message: messages.Assigned) -> None:
        conv_id = message.conv
        if conv_id in self.links:
            return
        # Claim the conversation before the first await, so a second event cannot open it twice.
        link = self._new_link(conv_id)
        state, link.min_seg = await self._console_view(conv_id)
        self.outbox.send(frames.assigned(message, state))
        await link.open(catch_up=True)
        await self._send_history(conv_id)
        if state is not None and state.wrap_c is None:
            # Keys published before the link subscribed would be lost: read them again.
            again = await self._segment_state(conv_id)
            if again is not None and again.wrap_c is not None:
                self.outbox.send(frames.keys(again))

    async def _console_view(self, conv_id: str) -> tuple[segments.SegmentState | None, int]:
        """The conversation's current segment, and the first segment this counsellor holds."""
        async with self.state.sessionmaker() as session:
            state = await segments.current_segment(session, conv_id)
            since = await segments.holder_since(session, conv_id, self.staff_id)
        return state, since

    async def _transfer(self, frame: protocol.Transfer) -> None:
        self._link_for(frame.conv)
        target: transfers.Target
        if frame.to_staff is not None:
            target = transfers.ToPerson(frame.to_staff)
        else:
            assert frame.to_kind is not None  # noqa: S101 - the parser gives one or the other
            target = transfers.ToQueue(QueueKey(frame.to_kind, frame.to_skill))
        mode = transfers.Mode(frame.mode)
        change = await self._handover_step(
            frame.conv,
            lambda session, now: handover.request(
                session,
                conv_id=frame.conv,
                staff_id=self.staff_id,
                target=target,
                mode=mode,
                now=now,
            ),
        )
        if change is None:
            return
        announce(self.state.broker, change, note=frame.note)
        if change.kind == "requeued":
            self.dispatcher.queue_changed()
            self.dispatcher.request_match()

    async def _answer_offer(self, frame: protocol.OfferAnswer) -> None:
        change = await self._handover_step(
            frame.conv,
            lambda session, now: handover.answer(
                session, conv_id=frame.conv, staff_id=self.staff_id, accept=frame.accept, now=now
            ),
        )
        if change is not None:
            announce(self.state.broker, change)

    async def _handover_step(
        self, conv_id: str, step: Callable[[AsyncSession, float], Awaitable[handover.Change]]
    ) -> handover.Change | None:
        """Run one transfer step under the matching lock; a refusal is answered here."""
        try:
            async with transaction(self.state.sessionmaker) as session:
                await lock_matching(session)
                return await step(session, self.state.clock())
        except handover.TransferRefused as exc:
            self.outbox.send(frames.transfer_refused(conv_id, exc.reason, exc.message))
            return None
        except Exception as exc:
            raise _unavailable() from exc

    async def _accept(self, frame: protocol.Accept) -> None:
        link = self._link_for(frame.conv)
        device_id = None if self.device is None else self.device.device_id
        try:
            async with transaction(self.state.sessionmaker) as session:
                new = await segments.store_accept(
                    session, conv_id=link.conv_id, seg=frame.seg, device_id=device_id, sig=frame.sig
                )
        except ProtocolError:
            raise
        except Exception as exc:
            raise _unavailable() from exc
        if new:
            self._signal(link.conv_id, frames.accepted(link.conv_id, frame.seg, frame.sig))
        self.outbox.send(frames.accept_stored(link.conv_id, frame.seg))

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        await super().stop()
        left = self.state.presence.get(self.staff_id, 1) - 1
        if left > 0:
            self.state.presence[self.staff_id] = left
        else:
            self.state.presence.pop(self.staff_id, None)
        # No off-duty here: a console that reconnects within the heartbeat timeout keeps the
        # shift; otherwise the dispatcher's sweep ends it in every process (shifts.sweep).
