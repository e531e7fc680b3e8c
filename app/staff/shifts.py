"""Shifts across processes: console heartbeats, and taking a counsellor whose consoles all went
silent off duty (DESIGN.md §5). Services never commit."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import is_outage, lock_matching, transaction
from app.events import messages
from app.events.broker import Broker
from app.events.channels import staff_channel
from app.events.messages import encode
from app.kit.clock import Clock
from app.staff import repository as staff_repo
from app.triage import handover
from app.triage.announce import announce
from app.triage.dispatcher import Dispatcher

log = logging.getLogger(__name__)


async def heartbeat(session: AsyncSession, staff_id: str, now: float) -> None:
    """A console of ``staff_id`` is alive (sent by every open console every few seconds)."""
    await staff_repo.touch_heartbeat(session, staff_id, now)


async def end_shift(
    session: AsyncSession, staff_id: str, now: float
) -> tuple[bool, list[handover.Change]]:
    """End ``staff_id``'s shift without them: off duty, and every chat they hold back to the
    front of its queue (``handover.release``). Takes the matching lock.

    Returns whether they were on duty (the caller publishes ``Duty`` off) and the changes the
    caller announces (``announce.announce``) after commit, then requests matching.
    """
    await lock_matching(session)
    was_on = await staff_repo.set_duty(session, staff_id, False, now)
    return was_on, await handover.release(session, staff_id)


async def sweep(
    session: AsyncSession,
    *,
    timeout: float | None,
    now: float,
    accept_timeout: float | None = None,
) -> tuple[list[str], list[handover.Change]]:
    """Counsellors whose consoles have all been silent for ``timeout`` seconds while on duty or
    holding chats go off duty; every chat they hold goes back to the queue and offers to them
    return (``handover.release``): a crash never leaves a young person writing into the void.
    With ``accept_timeout``: chats not accepted that long after their segment was opened go back
    to the queue too, and a duty device that got the key and did not accept goes off duty
    (``handover.requeue_unaccepted``).

    Returns the staff ids taken off duty and the conversation changes to announce.
    """
    await lock_matching(session)
    gone = await staff_repo.silent_on_duty(session, None if timeout is None else now - timeout)
    changes: list[handover.Change] = []
    off: list[str] = []
    for staff_id in gone:
        was_on, released = await end_shift(session, staff_id, now)
        if was_on:
            off.append(staff_id)
        changes += released
    if accept_timeout is not None:
        # Chats a duty device did not accept in time go back to the queue; that device gets no
        # more of them: its counsellor goes off duty (a new console takes duty with its own).
        unaccepted = await handover.requeue_unaccepted(session, before=now - accept_timeout)
        changes += unaccepted.changes
        for staff_id in sorted(unaccepted.silent_devices - set(gone)):
            if await staff_repo.set_duty(session, staff_id, False, now):
                off.append(staff_id)
    return off, changes


def announce_end(
    broker: Broker,
    dispatcher: Dispatcher,
    staff_id: str,
    was_on: bool,
    changes: list[handover.Change],
) -> None:
    """After commit: tell the consoles and the young people what ``end_shift`` did."""
    if was_on:
        broker.publish(staff_channel(staff_id), encode(messages.Duty(on=False)))
    for change in changes:
        announce(broker, change)
    if was_on or any(c.kind == "requeued" for c in changes):
        # Fewer on duty: a waiting ticket may have nobody left who can serve it (unserved).
        dispatcher.queue_changed()
        dispatcher.request_match()


class StaffSweep:
    """The dispatcher chore that runs ``sweep`` and expired warm offers, then tells everyone.

    Counsellors whose consoles all went silent go off duty (their consoles hear ``duty`` off),
    their unanswered chats go back to the queue, chats a duty device did not accept within
    ``accept_timeout`` too, and offers past their deadline return to their
    senders. Errors are logged; the next sweep tries again.

    Silence is counted only while the database could be reached: heartbeats and acceptances
    sent during an outage could not be stored, so after one (and after a restart) consoles get a
    whole ``timeout`` (``accept_timeout``) of a working database before their silence ends a
    shift or requeues a chat. A 20 s database blip must not end everyone's shift.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        broker: Broker,
        clock: Clock,
        dispatcher: Dispatcher,
        *,
        timeout: float,
        accept_timeout: float | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._accept_timeout = accept_timeout
        self._broker = broker
        self._clock = clock
        self._dispatcher = dispatcher
        self._timeout = timeout
        #: Since when the sweep has reached the database without a failure (None: it failed).
        self._reachable_since: float | None = clock()

    async def __call__(self) -> None:
        now = self._clock()
        up_for = 0.0 if self._reachable_since is None else now - self._reachable_since
        timeout = self._timeout if up_for >= self._timeout else None
        accept_timeout = self._accept_timeout
        if accept_timeout is not None and up_for < accept_timeout:
            accept_timeout = None
        try:
            async with transaction(self._sessionmaker) as session:
                silent, changes = await sweep(
                    session, timeout=timeout, now=now, accept_timeout=accept_timeout
                )
                changes += await handover.expire_offers(session, now)
        except Exception as exc:
            self._reachable_since = None
            if is_outage(exc):
                log.warning("staff sweep: database unavailable (%s)", type(exc).__name__)
            else:
                log.exception("staff sweep failed")
            return
        if self._reachable_since is None:
            self._reachable_since = now
        for staff_id in silent:
            self._broker.publish(staff_channel(staff_id), encode(messages.Duty(on=False)))
        for change in changes:
            announce(self._broker, change)
        if silent or any(c.kind == "requeued" for c in changes):
            # Fewer on duty: a waiting ticket may have nobody left who can serve it (unserved).
            self._dispatcher.queue_changed()
            self._dispatcher.request_match()
