"""The counsellor's console socket: duty, chats, keys and transfers (docs/PROTOCOL.md §2.2, §7)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import repository as chat_repo
from app.chat import segments
from app.chat.sealing import Sealer
from app.chat.store import EnvelopeStore
from app.db import lock_matching, transaction
from app.events import messages
from app.events.channels import staff_channel
from app.events.messages import encode
from app.keys.devices import DeviceCert
from app.kit.errors import ProtocolError
from app.models import Staff
from app.relay import consoleframes as console
from app.relay import consolewatch, frames, protocol, signatures, states, transferframes
from app.relay.base import SocketHandler, unavailable
from app.relay.connection import Outbox
from app.relay.states import StaffEvent, StaffPhase
from app.security import service as security_service
from app.security.dependencies import SUPERVISING_ROLES
from app.staff import repository as staff_repo
from app.staff import shifts
from app.state import AppState
from app.supervision import closetags, closing
from app.supervision.live import BoardFeed
from app.supervision.queuefeed import QueueFeed
from app.triage import handover, transfers
from app.triage.announce import announce
from app.triage.dispatcher import Dispatcher
from app.triage.engine import QueueKey

log = logging.getLogger(__name__)


class StaffHandler(SocketHandler):
    """A console of one staff session, with the device it named (if usable)."""

    role = "C"

    def __init__(
        self,
        state: AppState,
        store: EnvelopeStore,
        sealer: Sealer,
        dispatcher: Dispatcher,
        outbox: Outbox,
        staff: Staff,
        session_digest: str,
        device: DeviceCert | None,
        board_feed: BoardFeed,
        queue_feed: QueueFeed,
    ) -> None:
        super().__init__(state, store, sealer, dispatcher, outbox)
        self._board_feed = board_feed
        self._queue_feed = queue_feed
        self._unwatch_board: Callable[[], None] | None = None
        self._unwatch_queue: Callable[[], None] | None = None
        self.device = device
        self.staff_id = staff.id
        self.alias = staff.alias
        self.staff_role = staff.role
        self.phase = StaffPhase.ON_DUTY if staff.on_duty else StaffPhase.OFF_DUTY
        self._session_digest = session_digest
        self._account = staff
        self._instance = secrets.token_hex(8)
        self._last_activity = state.clock()
        self._watcher: asyncio.Task[None] | None = None
        self._warned_for: float | None = None

    async def start(self) -> None:
        await self._subscribe(staff_channel(self.staff_id), self._on_staff_event)
        if self.phase is StaffPhase.ON_DUTY and self.device is not None:
            await self._take_duty_device(self.device.device_id)
        self._watcher = asyncio.get_running_loop().create_task(
            consolewatch.watch(self, self._session_digest, self._account)
        )
        self.state.presence[self.staff_id] = self.state.presence.get(self.staff_id, 0) + 1
        async with self.state.sessionmaker() as session:
            convs = await chat_repo.open_conversations_of(session, self.staff_id)
        listed = []
        for conv in convs:
            state, since = await self._console_view(conv.id)
            top = -1 if state is None else state.seg
            await self._open_link(conv.id, catch_up=False, min_seg=since, top_seg=top)
            listed.append(
                console.console_conversation(
                    conv.id, conv.kind, conv.language, conv.urgent, state, present=conv.present
                )
            )
        self.outbox.send(
            console.hello(
                self.alias,
                self.staff_role,
                on_duty=self.phase is StaffPhase.ON_DUTY,
                device=None if self.device is None else self.device.device_id,
                conversations=listed,
            )
        )
        for conv in convs:
            await self._send_history(conv.id)

    async def _take_duty_device(self, device_id: str) -> None:
        """The counsellor is on duty and this console is new (a reload, another browser after
        the old one died): it takes the shift over, so new chats are sealed to its device and
        not to one that may never answer (PROTOCOL.md §6.2)."""
        try:
            async with transaction(self.state.sessionmaker) as session:
                taken = await staff_repo.take_duty_device(
                    session, self.staff_id, device_id, self.state.clock()
                )
        except Exception as exc:
            log.warning("could not move the duty device: %s", type(exc).__name__)
            return
        if taken:
            self.dispatcher.request_match()

    async def _send_history(self, conv_id: str) -> None:
        """Earlier conversations the young person shared with this device (CRYPTO.md §5)."""
        if self.device is None:
            return
        async with self.state.sessionmaker() as session:
            shared = await segments.shared_history(
                session, self.sealer, conv_id, self.device.device_id
            )
        for item in shared:
            self.outbox.send(frames.history(conv_id, item))

    # ------------------------------------------------------------ the session check

    def working(self) -> bool:
        """Reading is work too: an on-duty console's heartbeat counts as activity (issue 9)."""
        return self.phase is StaffPhase.ON_DUTY or bool(self.links)

    @property
    def last_activity(self) -> float:
        return self._last_activity

    def warn_expiry(self, expires_at: float, now: float) -> None:
        """Once per absolute period: say when the session ends, so the console offers
        re-authentication (a renewed session moves ``expires_at`` and may warn again)."""
        if expires_at - now <= self.state.settings.session_warn_seconds and (
            self._warned_for != expires_at
        ):
            self._warned_for = expires_at
            self.outbox.send(frames.session_expiring(expires_at))

    async def pick_up(
        self, convs: list[chat_repo.ConversationInfo], gone: list[messages.Transferred]
    ) -> None:
        """Open each chat held whose assignment was lost, and let go of each one ``gone``."""
        for message in gone:
            self._on_staff_message(message)
        for conv in convs:
            if conv.id not in self.links:
                await self._assigned(
                    messages.Assigned(conv.id, conv.kind, conv.language, conv.urgent)
                )

    def account_changed(self, staff: Staff, *, routing: bool) -> None:
        """An admin edited the account (issue 11 §3): a new role applies to this socket now
        (the board stops for one no longer supervising); a routing change to the next pairing."""
        self.alias = staff.alias
        self.staff_role = staff.role
        if self.staff_role not in SUPERVISING_ROLES and self._unwatch_board is not None:
            self._unwatch_board()
            self._unwatch_board = None
            self.outbox.send(frames.error("forbidden", "the live board is for supervisors"))
        if routing and self.phase is StaffPhase.ON_DUTY:
            self.dispatcher.queue_changed()
            self.dispatcher.request_match()

    async def session_over(self, now: float, *, device_revoked: bool = False) -> None:
        """The session ended (expired, logged out, disabled, a credential reset) or the duty
        device was revoked: unless another live session goes on (a revoked duty device never
        waits for that), the shift ends and every chat held goes back to the queue at once
        (S-22), not after the heartbeat timeout; then the socket closes (it stops this task)."""
        try:
            async with transaction(self.state.sessionmaker) as session:
                if not device_revoked and await security_service.has_live_session(
                    session, self.state.settings, self.staff_id, now
                ):
                    return
                was_on, changes = await shifts.end_shift(session, self.staff_id, now)
        except Exception as exc:
            log.warning("ending a shift failed: %s", type(exc).__name__)
            return  # the staff sweep ends it after the heartbeat timeout
        finally:
            self._end_session("device revoked" if device_revoked else "session ended")
        shifts.announce_end(self.state.broker, self.dispatcher, self.staff_id, was_on, changes)

    async def handle(self, frame: protocol.Frame) -> None:
        self._last_activity = self.state.clock()
        states.staff_frame(self.phase, protocol.frame_type(frame))
        match frame:
            case protocol.Duty():
                await self._duty(frame.on)
            case protocol.SendEnvelope():
                await self._envelope(frame.envelope)
            case protocol.Sync():
                await self._sync(frame)
            case protocol.Close():
                await self._close(frame)
            case protocol.Signal():
                self._typing(frame)
            case protocol.Accept():
                await self._accept(frame)
            case protocol.TranscriptSig():
                await self._transcript_sig(frame)
            case protocol.Undecryptable():
                self._undecryptable(frame)
            case protocol.Transfer():
                await self._transfer(frame)
            case protocol.OfferAnswer():
                await self._answer_offer(frame)
            case protocol.WatchBoard():
                self._watch_board()
            case protocol.WatchQueue() if self._unwatch_queue is None:
                # Every role: the queue at a glance, with what this account can serve.
                send = self.outbox.send
                self._unwatch_queue = self._queue_feed.watch(
                    self.staff_id, lambda g: send(frames.queue(g))
                )
            case protocol.WatchQueue():
                pass  # already watching
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
            raise unavailable() from exc
        self.state.broker.publish(staff_channel(self.staff_id), encode(messages.Duty(on=on)))
        # Who is on duty changed: a waiting ticket may have nobody (or somebody again) who can
        # serve it, which the young person is told at once (PROTOCOL.md §2.1 ``unserved``).
        self.dispatcher.queue_changed()
        if on:
            self.dispatcher.request_match()
        elif self.links:
            # Ending a shift with chats still open: the console asks to transfer or finish them.
            self.outbox.send(console.open_chats(sorted(self.links)))

    def _move(self, event: StaffEvent) -> bool:
        """Apply ``event`` (``states.STAFF_TRANSITIONS``); False when it is to be dropped."""
        after = states.staff_next(self.phase, event)
        if after is None:
            return False
        self.phase = after
        return True

    def _on_staff_event(self, text: str) -> None:
        self._on_staff_message(self._decode(text))

    def _on_staff_message(self, message: messages.Message | None) -> None:
        match message:
            case messages.Assigned(conv=conv) if conv not in self.links:
                if self._move(StaffEvent.ASSIGNED):
                    task = asyncio.get_running_loop().create_task(self._assigned(message))
                    task.add_done_callback(self._report)
                    self.dispatcher.pairing(task)  # ahead of the position fan-out
            case messages.Duty(on=on):
                if self._move(StaffEvent.DUTY_ON if on else StaffEvent.DUTY_OFF):
                    self.outbox.send(console.duty(on))
            case messages.Transferred(conv=conv):
                if self._move(StaffEvent.TRANSFERRED) and (link := self.links.pop(conv, None)):
                    link.close()
                    self.outbox.send(transferframes.transferred(message))
            case messages.Closed(conv=conv) if conv not in self.links:
                # A chat this console no longer follows was deleted (S-18): say so.
                self._notice(frames.closed(message))
            case messages.Offer():
                self._notice(transferframes.offer(message))
            case messages.OfferWithdrawn():
                self._notice(transferframes.offer_withdrawn(message))
            case messages.TransferPending():
                self._notice(transferframes.transfer_pending(message))
            case messages.TransferReturned():
                self._notice(transferframes.transfer_returned(message))
            case messages.DeviceAdded(device_id=device_id):
                self._notice(console.device_added(device_id))
            case messages.Logout(session=s) if s in (messages.ALL_SESSIONS, self._session_digest):
                self._end_session("logged out")

    def _notice(self, frame: str) -> None:
        if self._move(StaffEvent.NOTICE):
            self.outbox.send(frame)

    def _end_session(self, reason: str) -> None:
        """The session ended (R-3, R-11): say so, and close the socket."""
        if self._move(StaffEvent.SESSION_ENDED):
            self.outbox.send(frames.logged_out())
            self.outbox.close(1008, reason)

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
        if state is not None:
            link.learned_segment(state.seg)
        self.outbox.send(console.assigned(message, state))
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
            state = await segments.current_segment(session, self.sealer, conv_id)
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
                confirm=frame.confirm,
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
            self.outbox.send(transferframes.transfer_refused(conv_id, exc.reason, exc.message))
            return None
        except Exception as exc:
            raise unavailable() from exc

    async def _accept(self, frame: protocol.Accept) -> None:
        link = self._link_for(frame.conv)
        device_id = None if self.device is None else self.device.device_id
        if await signatures.accept(self.state, device_id, link.conv_id, frame):
            accepted = frames.accepted(link.conv_id, frame.seg, frame.sig, frame.signed_at)
            self._signal(link.conv_id, accepted)
        self.outbox.send(frames.accept_stored(link.conv_id, frame.seg))

    async def _transcript_sig(self, frame: protocol.TranscriptSig) -> None:
        """Stored, then relayed: also for a chat that just left this console (PROTOCOL.md §6.6)."""
        f, device_id = frame, None if self.device is None else self.device.device_id
        await signatures.transcript_sig(self.state, device_id, f)
        self._signal(f.conv, frames.transcript_sig(f.conv, f.seg, f.n, f.digest, f.sig, f.covers))
        self.outbox.send(frames.transcript_sig_stored(f.conv, f.seg))

    async def _close(self, frame: protocol.Close) -> None:
        """Close a chat, counting its close categories (anonymously) in the same transaction."""
        link = self._link_for(frame.conv)
        if frame.tags is None:
            await self._close_conversation(link.conv_id, reason="closed")
            return
        try:
            tags = closetags.check(frame.tags, closing.topic_ids(self.dispatcher.setup.questions))
        except closetags.BadTags as exc:
            raise ProtocolError("bad_tags", str(exc)) from None
        timezone = self.dispatcher.setup.schedule.timezone

        async def count(session: AsyncSession) -> None:
            await closing.record(
                session, link.conv_id, tags, now=self.state.clock(), timezone=timezone
            )

        await self._close_conversation(link.conv_id, reason="closed", also=count)

    def _watch_board(self) -> None:
        """Push the live board to this console from now on (supervisors and admins)."""
        if self.staff_role not in SUPERVISING_ROLES:
            raise ProtocolError("forbidden", "the live board is for supervisors")
        if self._unwatch_board is None:
            self._unwatch_board = self._board_feed.watch(
                lambda board: self.outbox.send(frames.board(board))
            )

    async def stop(self) -> None:
        for unwatch in (self._unwatch_board, self._unwatch_queue):
            if unwatch is not None:
                unwatch()
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
