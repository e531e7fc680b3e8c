"""The young person's socket: the queue, the chat, and coming back (docs/PROTOCOL.md §2.1)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from app.chat import segments
from app.chat.sealing import Sealer
from app.chat.store import EnvelopeStore
from app.db import transaction
from app.events import messages
from app.events.channels import ticket_channel
from app.events.messages import encode
from app.expiry import deletion
from app.expiry.purge import checkpoint
from app.kit.errors import NotFound, ProtocolError
from app.kit.ids import new_token, token_digest
from app.relay import frames, protocol, states
from app.relay.base import SocketHandler, unavailable
from app.relay.connection import Outbox, catch_up_slot
from app.relay.states import YouthAction, YouthEvent, YouthPhase
from app.state import AppState
from app.triage import service as triage_service
from app.triage.dispatcher import Dispatcher
from app.triage.engine import QueueKey
from app.triage.positions import Standing

log = logging.getLogger(__name__)


class YouthHandler(SocketHandler):
    """new -> waiting -> chat -> ended; or new -> (resume) -> waiting | requeued | chat; a chat
    may be requeued and paired again. The phases and their transitions are ``states``'s."""

    role = "Y"
    __slots__ = (
        "_bucket",
        "_instance",
        "_replaced",
        "_token_digest",
        "_unserved",
        "_unwatch",
        "_urgent",
        "phase",
        "ticket_id",
    )

    def __init__(
        self,
        state: AppState,
        store: EnvelopeStore,
        sealer: Sealer,
        dispatcher: Dispatcher,
        outbox: Outbox,
        bucket: str,
    ) -> None:
        super().__init__(state, store, sealer, dispatcher, outbox)
        self._bucket = bucket
        self._instance = new_token()
        self.ticket_id: int | None = None
        self._token_digest: str | None = None
        self._replaced = False
        self.phase = YouthPhase.NEW
        self._unwatch: Callable[[], None] | None = None
        #: Told ``unserved`` (nobody on duty can serve the ticket) and not ``served`` since.
        self._unserved = False
        self._urgent = False

    async def handle(self, frame: protocol.Frame) -> None:
        action = states.youth_frame(self.phase, protocol.frame_type(frame))
        match frame:
            case protocol.Leave() | protocol.Close() if action is YouthAction.END_CHAT:
                # Waiting again after a transfer or requeue: leaving ends the conversation.
                await self._close_conversation(self._link_for(None).conv_id, reason="left")
            case protocol.Join():
                await self._join(frame)
            case protocol.Resume():
                await self._resume(frame)
            case protocol.Leave():
                await self._leave()
            case protocol.SendEnvelope():
                await self._envelope(frame.envelope)
            case protocol.Sync():
                await self._sync(frame)
            case protocol.Close():
                if frame.tags is not None:
                    raise ProtocolError("bad_frame", "close categories are the counsellor's")
                await self._close_conversation(self._link_for(frame.conv).conv_id, reason="closed")
            case protocol.Delete():
                await self._delete_now(self._link_for(frame.conv).conv_id)
            case protocol.Signal():
                self._typing(frame)
            case protocol.Keys():
                await self._keys(frame)
            case protocol.ReturnCode():
                await self._return_code(frame)
            case protocol.ShareHistory():
                await self._share_history(frame)
            case protocol.Undecryptable():
                self._undecryptable(frame)
            case _:  # the table accepts no other frame: this is a bug
                raise states.ImpossibleTransition(f"youth socket: {action} of {frame!r}")

    def _move(self, event: YouthEvent) -> bool:
        """Apply ``event`` (``states.YOUTH_TRANSITIONS``); False when it is to be dropped."""
        after = states.youth_next(self.phase, event)
        if after is None:
            return False
        self.phase = after
        return True

    async def _join(self, frame: protocol.Join) -> None:
        now = self.state.clock()
        limits = self.state.join_limits
        # Only a join that enters the queue counts (PROTOCOL.md §2.1 "Join limit"): the place is
        # taken now, so two joins at once cannot both pass, and given back if it was refused.
        if not limits.hit(self._bucket, now):
            retry = int(limits.retry_after(self._bucket, now)) + 1
            self._move(YouthEvent.REFUSED)
            self.outbox.send(frames.too_many_joins(retry, self.dispatcher.setup.policy))
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
                    youth_sig_key=frame.sig_key,
                )
                ticket_id, queue = ticket.id, str(QueueKey(ticket.kind, ticket.skill))
                self._urgent = ticket.urgent
        except triage_service.BadTriage as exc:
            limits.refund(self._bucket)
            raise ProtocolError("bad_triage", exc.message) from None
        except triage_service.EntryRefused as exc:
            limits.refund(self._bucket)
            self._move(YouthEvent.REFUSED)
            self.outbox.send(frames.refusal(exc.decision, exc.message, now))
            self.outbox.close(frames.REFUSAL_CLOSE, exc.code)
            return
        except Exception as exc:
            limits.refund(self._bucket)
            raise unavailable() from exc
        await self._became_ticket(ticket_id)
        self.outbox.send(frames.ticket(token, queue))
        self._wait(YouthEvent.JOINED)
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
            raise unavailable() from exc
        if ticket.status not in ("waiting", "assigned") or (
            ticket.conversation is not None
            and ticket.conversation.status not in ("open", "requeued")
        ):
            self._move(YouthEvent.RESUMED_ENDED)
            self.outbox.send(frames.ended())
            self.outbox.close(1000)
            return
        self._token_digest = token_digest(frame.ticket)
        self._urgent = ticket.urgent
        await self._became_ticket(ticket.ticket_id)
        self.state.broker.publish(
            ticket_channel(ticket.ticket_id),
            encode(messages.Replaced(by=self._instance)),
        )
        conv = ticket.conversation
        if conv is None:
            self.outbox.send(frames.resumed(ticket.kind))
            self._wait(YouthEvent.RESUMED_WAITING)
            self.dispatcher.request_match()
        elif conv.status == "requeued":
            # Waiting again for a counsellor: the transcript so far stays reachable (sync).
            self.outbox.send(frames.resumed(ticket.kind, conv.id, requeued=True))
            await self._open_link(conv.id, catch_up=False)
            self._wait(YouthEvent.RESUMED_REQUEUED)
            self.dispatcher.request_match()
        else:
            self.outbox.send(frames.resumed(ticket.kind, conv.id))
            self._move(YouthEvent.RESUMED_CHAT)
            await self._chat(conv.id, conv.alias, catch_up=False)
            self._announce_presence(conv.id, present=True)

    async def _became_ticket(self, ticket_id: int) -> None:
        self.ticket_id = ticket_id
        await self._subscribe(
            ticket_channel(ticket_id), self._on_ticket_event, on_missed=self._on_ticket_missed
        )

    def _on_ticket_missed(self) -> None:
        """The broker may have lost a ``Paired`` or ``Requeued`` of this ticket (Redis was
        away): the database says where the ticket is now. Only in a chat: a waiting socket
        whose ``Paired`` was lost hears of it from the position pass that the queue channel's
        own catch-up runs (``_on_place``), without one read per waiting socket."""
        if self.phase != YouthPhase.CHAT:
            return

        async def reconcile() -> None:
            async with catch_up_slot():  # every socket is told at once after an outage
                await self._reconcile()

        self._background(asyncio.get_running_loop().create_task(reconcile()))

    def _wait(self, event: YouthEvent) -> None:
        self._move(event)
        self._watch()

    def _watch(self) -> None:
        """Have this socket told the ticket's place in the queue (now, and at every change)."""
        assert self.ticket_id is not None  # noqa: S101 - set by _became_ticket
        self._unwatch = self.dispatcher.watch(self.ticket_id, self._on_place)

    def _on_place(self, standing: Standing | None) -> None:
        if standing is None:
            # Not waiting any more, yet no "paired" reached us (a lost broker message): ask the
            # database what happened to the ticket.
            self._background(asyncio.get_running_loop().create_task(self._reconcile()))
            return
        if standing.served == self._unserved:
            # Nobody on duty can serve this ticket now, or somebody can again: said at once,
            # with 112, the helplines and the next opening; the ticket keeps its place.
            self._unserved = not standing.served
            self.outbox.send(self._unserved_frame() if self._unserved else frames.served())
        self.outbox.send(frames.position(standing.place, standing.estimate))

    def _unserved_frame(self) -> str:
        opening = self.dispatcher.next_session(self.state.clock())
        return frames.unserved(self.dispatcher.setup.policy, opening, urgent=self._urgent)

    def _on_ticket_event(self, text: str) -> None:
        self._on_ticket_message(self._decode(text))

    def _on_ticket_message(self, message: messages.Message | None) -> None:
        match message:
            case messages.Paired(conv=conv, alias=alias):
                # A first pairing, a requeued chat taken again, or a transfer to a colleague:
                # each comes with a new key segment for the new counsellor.
                event = YouthEvent.HANDED_OVER if conv in self.links else YouthEvent.PAIRED
                if self._move(event):
                    task = asyncio.get_running_loop().create_task(
                        self._chat(conv, alias, catch_up=True)
                    )
                    self._background(task)
                    self.dispatcher.pairing(task)  # ahead of the position fan-out
            case messages.Requeued(conv=conv, reason=reason):
                if self._move(YouthEvent.REQUEUED):
                    self.outbox.send(frames.requeued(conv, reason))
                    self._watch()
            case messages.Replaced(by=by) if by != self._instance:
                # Not a phase: whatever this socket was doing, it closes without a trace.
                self._replaced = True
                self.outbox.send(frames.replaced())
                self.outbox.close(4001, "replaced")

    async def _reconcile(self) -> None:
        """Bring this socket to where the database says its ticket is, when a broker message
        may have been lost: paired meanwhile, back in the queue, or over."""
        if self.phase not in states.PRESENT or self._token_digest is None:
            return
        async with self.state.sessionmaker() as session:
            ticket = await triage_service.resume(session, self._token_digest)
        conv = ticket.conversation
        if self.phase == YouthPhase.CHAT:
            if conv is not None and conv.status == "requeued" and conv.id in self.links:
                # The lost Requeued, as it would have come (its reason is not stored).
                self._on_ticket_message(messages.Requeued(conv.id, reason=None))
            return
        if self.phase not in states.QUEUED:
            return  # a broker message was faster
        if conv is not None and conv.status == "open":
            self._move(YouthEvent.PAIRED)
            await self._chat(conv.id, conv.alias, catch_up=True)
        elif ticket.status not in ("waiting", "assigned"):
            self._move(YouthEvent.TICKET_OVER)
            self.outbox.send(frames.ended())
            self.outbox.close(1000)

    def _background(self, task: asyncio.Task[None]) -> None:
        def done(t: asyncio.Task[None]) -> None:
            if not t.cancelled() and t.exception() is not None:
                log.error("youth pairing failed: %s", type(t.exception()).__name__)
                self.outbox.close(1011, "internal error")

        task.add_done_callback(done)

    async def _chat(self, conv_id: str, alias: str, *, catch_up: bool) -> None:
        """Show the (new) pairing and relay the conversation; the phase is ``chat`` already."""
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        self._unserved = False  # someone took it: the page drops the notice with "paired"
        state = await self._segment_state(conv_id)
        if state is None:  # every conversation starts with segment 0; this is a bug
            raise RuntimeError("a conversation without a key segment")
        if conv_id in self.links:
            self.links[conv_id].learned_segment(state.seg)
        self.outbox.send(frames.paired(conv_id, alias, state))
        if conv_id not in self.links:
            await self._open_link(conv_id, catch_up=catch_up, top_seg=state.seg)
        if state.accept_sig is None:
            # An acceptance published before the link subscribed would be lost: read it again.
            again = await self._segment_state(conv_id)
            if again is not None and again.accept_sig is not None:
                self.outbox.send(
                    frames.accepted(conv_id, again.seg, again.accept_sig, again.accept_at)
                )

    async def _keys(self, frame: protocol.Keys) -> None:
        link = self._link_for(frame.conv)
        try:
            async with transaction(self.state.sessionmaker) as session:
                state = await segments.store_keys(session, self.sealer, frame, self.state.clock())
        except ProtocolError:
            raise
        except Exception as exc:
            raise unavailable() from exc
        self._signal(link.conv_id, frames.keys(state))
        self.outbox.send(frames.keys_stored(link.conv_id, frame.seg))

    async def _share_history(self, frame: protocol.ShareHistory) -> None:
        link = self._link_for(frame.conv)
        try:
            async with transaction(self.state.sessionmaker) as session:
                device_id = await segments.share_history(
                    session, self.sealer, frame, self.state.clock()
                )
                shared = await segments.shared_history(
                    session, self.sealer, link.conv_id, device_id
                )
        except ProtocolError:
            raise
        except Exception as exc:
            raise unavailable() from exc
        for item in shared:
            body = frames.history(link.conv_id, item)
            self._signal(link.conv_id, body)
        self.outbox.send(frames.history_shared(link.conv_id))

    async def _return_code(self, frame: protocol.ReturnCode) -> None:
        link = self._link_for(frame.conv)
        try:
            async with transaction(self.state.sessionmaker) as session:
                await segments.store_return_wrap(session, self.sealer, frame, self.state.clock())
        except ProtocolError:
            raise
        except Exception as exc:
            raise unavailable() from exc
        self.outbox.send(frames.return_code_stored(link.conv_id, frame.seg))

    async def _delete_now(self, conv_id: str) -> None:
        """Delete the conversation at once (S-18): the young person hears ``deleted`` before the
        close that follows it, and the counsellor hears the chat closed as ``deleted``."""
        timezone = self.dispatcher.setup.schedule.timezone
        try:
            async with transaction(self.state.sessionmaker) as session:
                done = await deletion.delete_now(
                    session, [conv_id], by=self.role, now=self.state.clock(), timezone=timezone
                )
        except Exception as exc:
            raise unavailable() from exc
        self.outbox.send(frames.deleted(conv_id))
        if deletion.announce(self.state.broker, done, by=self.role):
            self.dispatcher.request_match()
        await checkpoint(self.state.engine)

    async def _leave(self) -> None:
        assert self.ticket_id is not None  # noqa: S101 - waiting implies a ticket
        try:
            async with transaction(self.state.sessionmaker) as session:
                await triage_service.leave(session, self.ticket_id, self.state.clock())
        except Exception as exc:
            raise unavailable() from exc
        self._move(YouthEvent.LEFT)
        self.outbox.send(frames.left())
        self.outbox.close(1000)
        self.dispatcher.queue_changed()

    def _on_closed(self, conv_id: str) -> None:
        super()._on_closed(conv_id)
        self._move(YouthEvent.CLOSED)
        self.outbox.close(1000)

    def _announce_presence(self, conv_id: str, *, present: bool) -> None:
        """Tell the counsellor the young person's connection went or came back (never stored)."""
        frame = frames.presence(conv_id, present)
        self._signal(conv_id, frame)

    async def stop(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
        if self.phase is YouthPhase.CHAT and not self._replaced:
            for conv_id in self.links:
                self._announce_presence(conv_id, present=False)
        await super().stop()
        if self.ticket_id is not None and self.phase in states.PRESENT and not self._replaced:
            try:
                async with transaction(self.state.sessionmaker) as session:
                    await triage_service.set_presence(
                        session, self.ticket_id, present=False, now=self.state.clock()
                    )
            except Exception:
                log.warning("could not record a youth disconnect")
