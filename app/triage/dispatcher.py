"""Per-process runner of the queue: matching, position pushes and the abandonment sweep (waiting
tickets whose socket went away, and open chats whose young person did not come back).

Other packages' periodic work (the staff heartbeat sweep, the statistics roll-up) is handed in
as ``chores`` by the app factory and run after each abandonment sweep, so that the queue does
not import the packages built on it.

Requests are coalesced: many joins in a burst cause one matching transaction, and many queue
changes one position computation per process (one query, however many sockets wait here).
Matching itself is serialised across processes by the database (``lock_matching``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from app.db import is_outage, snapshot, transaction
from app.events import messages
from app.events.broker import Broker, Unsubscribe
from app.events.channels import QUEUE_CHANNEL, staff_channel, ticket_channel
from app.events.messages import encode
from app.kit.clock import Clock
from app.metrics import Metrics
from app.triage import engine, hours, service, waits
from app.triage import repository as repo
from app.triage.announce import publish_closed
from app.triage.positions import Standing, served, standings
from app.triage.setup import TriageSetup

log = logging.getLogger(__name__)

#: Called with the ticket's new place and wait range, or with None when it no longer waits (it
#: was assigned or ended without this process hearing of it: the handler must look it up).
PlaceHandler = Callable[[Standing | None], None]
#: How many recently closed chats feed the wait estimate's mean duration.
RECENT_CHATS = 50
#: Periodic work of another package, run after each abandonment sweep; it logs its own errors.
Chore = Callable[[], Awaitable[None]]
#: Seconds between pushes to one socket when only the queue length behind it changed, or when
#: it is further back than PROMPT_POSITIONS (those near the front are told every move at once).
WAITING_REFRESH = 5.0
PROMPT_POSITIONS = 20
#: Shortest time between two position passes. A pass over 5,000 waiting costs tens of
#: milliseconds; with 20 joins a second, one pass per join would take the whole event loop and
#: starve pairing (PERFORMANCE.md P-4).
POSITIONS_INTERVAL = 0.25
#: Watchers told in one go before the position pass yields to the event loop: 5,000 frames in
#: one go hold the loop for a few hundred milliseconds, and a pairing announced meanwhile waits
#: behind all of them (PERFORMANCE.md P-4). A slice is a few milliseconds of sending.
FANOUT_SLICE = 50
#: Longest a position pass waits, in all, for matching and pairing announcements to go first:
#: under a steady stream of joins positions must still move, and the front of the line hears
#: within about a quarter of a second (PROTOCOL.md §2.1); a pairing is told in milliseconds.
PAIRING_FIRST_MAX = 0.1


class Dispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        broker: Broker,
        clock: Clock,
        *,
        setup: TriageSetup | Callable[[], TriageSetup],
        reconnect_grace: float = 60.0,
        chat_grace: float = 120.0,
        sweep_interval: float = 5.0,
        chores: Sequence[Chore] = (),
        metrics: Metrics | None = None,
    ) -> None:
        #: The centre's questions, hours and entry policy now (``setup``), or what gives it:
        #: the app factory hands in its ``CentreConfig``'s, edited by admins while running.
        self._setup = setup if callable(setup) else lambda: setup
        self._sessionmaker = sessionmaker
        self._broker = broker
        self._clock = clock
        self._grace = reconnect_grace
        #: How long an open chat waits for its young person's connection to come back.
        self._chat_grace = chat_grace
        self._sweep_interval = sweep_interval
        self._chores = list(chores)
        self._metrics = metrics
        self._match_wanted = asyncio.Event()
        self._positions_wanted = asyncio.Event()
        self._watchers: dict[int, PlaceHandler] = {}
        #: Whether a matching transaction is running, and the sockets' pairing announcements
        #: (``paired``/``assigned`` being sent) not finished yet: positions wait for both.
        self._matching = False
        self._pairing: set[asyncio.Future[None]] = set()
        self._last_place: dict[int, Standing] = {}
        self._pushed_at: dict[int, float] = {}  # loop time of each watcher's last push
        self._refresh: asyncio.TimerHandle | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Unsubscribe | None = None
        self.matches = 0
        self._next_session: tuple[int, hours.Schedule, datetime | None] | None = None

    @property
    def setup(self) -> TriageSetup:
        """The centre's questions, hours and entry policy in force now (read by joins and the
        board): ask again each time, an admin may have changed them."""
        return self._setup()

    async def start(self) -> None:
        self._unsubscribe = await self._broker.subscribe(
            QUEUE_CHANNEL, self._on_queue_event, on_missed=self._on_queue_missed
        )
        self._tasks = [
            asyncio.create_task(self._match_loop(), name="matcher"),
            asyncio.create_task(self._positions_loop(), name="positions"),
            asyncio.create_task(self._sweep_loop(), name="sweeper"),
        ]
        self.request_match()

    async def close(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        if self._refresh is not None:
            self._refresh.cancel()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def next_session(self, now: float) -> datetime | None:
        """``hours.next_session`` of the centre's schedule at ``now``, worked out at most once a
        minute (and again when the hours change): every socket told ``unserved`` at once needs it,
        and it costs milliseconds."""
        minute, schedule = int(now // 60), self.setup.schedule
        cached = self._next_session
        if cached is None or cached[0] != minute or cached[1] is not schedule:
            at = datetime.fromtimestamp(now, UTC)
            cached = self._next_session = (minute, schedule, hours.next_session(schedule, at))
        return cached[2]

    # ------------------------------------------------------------------ requests

    def request_match(self) -> None:
        """Ask for a matching run soon (after a join, duty change, or freed capacity)."""
        self._match_wanted.set()

    def add_chore(self, chore: Chore) -> None:
        """Run ``chore`` after every abandonment sweep from now on."""
        self._chores.append(chore)

    def queue_changed(self) -> None:
        """Tell every process that positions changed (a join, leave or assignment)."""
        self._broker.publish(QUEUE_CHANNEL, encode(messages.QueueChanged()))

    def _on_queue_event(self, text: str) -> None:
        try:
            message = messages.decode(text)
        except messages.BadMessage as exc:
            log.warning("dropped a queue message: %s", exc)
            return
        if isinstance(message, messages.QueueChanged):
            self._positions_wanted.set()

    def _on_queue_missed(self) -> None:
        """Queue changes may have been lost (the broker was away): a position pass tells every
        waiting socket its place, and one whose ticket stopped waiting (a lost ``paired``) to
        look it up; and match what another process may have left waiting."""
        self._positions_wanted.set()
        self.request_match()

    def pairing(self, announcement: asyncio.Future[None]) -> None:
        """A socket of this process is telling its side of a pairing (``paired`` to a young
        person, ``assigned`` to a console): position passes wait until it is done (at most
        ``PAIRING_FIRST_MAX``), so that pairing frames go ahead of the position fan-out."""
        self._pairing.add(announcement)
        announcement.add_done_callback(self._pairing.discard)

    async def _pairing_first(self, budget: list[float]) -> None:
        """Wait while matching runs, is wanted, or pairings are being announced, spending at
        most what is left of ``budget[0]`` seconds (shared by one pass's waits)."""
        loop = asyncio.get_running_loop()
        while budget[0] > 0 and (self._matching or self._match_wanted.is_set() or self._pairing):
            start = loop.time()
            if self._pairing:
                await asyncio.wait(list(self._pairing), timeout=min(budget[0], 0.05))
            else:
                await asyncio.sleep(0.001)
            budget[0] -= loop.time() - start

    def watch(self, ticket_id: int, handler: PlaceHandler) -> Callable[[], None]:
        """Call ``handler(place)`` whenever this waiting ticket's place changes (and once now)."""
        self._watchers[ticket_id] = handler
        self._last_place.pop(ticket_id, None)
        self._positions_wanted.set()

        def unwatch() -> None:
            if self._watchers.get(ticket_id) is handler:
                del self._watchers[ticket_id]
                self._last_place.pop(ticket_id, None)
                self._pushed_at.pop(ticket_id, None)

        return unwatch

    # ------------------------------------------------------------------ loops

    async def _match_loop(self) -> None:
        while True:
            await self._match_wanted.wait()
            self._match_wanted.clear()
            now = self._clock()
            self._matching = True
            try:
                async with transaction(self._sessionmaker) as session:
                    paired = await service.match(session, now)
            except Exception as exc:
                _log_failure(exc, "matching failed; retrying")
                await asyncio.sleep(1.0)
                self._match_wanted.set()
                continue
            finally:
                self._matching = False
            for p in paired:
                self.matches += 1
                if self._metrics is not None and p.first:
                    possible = max(p.joined_at, p.free_since)
                    self._metrics.paired(p.queue, latency=now - possible, wait=now - p.joined_at)
                self._broker.publish(
                    ticket_channel(p.ticket_id), encode(messages.Paired(p.conv_id, p.alias))
                )
                assigned = messages.Assigned(p.conv_id, p.kind, p.language, p.urgent)
                self._broker.publish(staff_channel(p.staff_id), encode(assigned))
            if paired:
                self.queue_changed()

    async def _positions_loop(self) -> None:
        loop = asyncio.get_running_loop()
        last_pass = -POSITIONS_INTERVAL
        while True:
            await self._positions_wanted.wait()
            # At most one pass per POSITIONS_INTERVAL: the changes meanwhile join the next one.
            await asyncio.sleep(max(0.0, last_pass + POSITIONS_INTERVAL - loop.time()))
            self._positions_wanted.clear()
            last_pass = loop.time()
            if not self._watchers:
                continue
            budget = [PAIRING_FIRST_MAX]
            await self._pairing_first(budget)
            try:
                async with snapshot(self._sessionmaker) as session:
                    tickets = await repo.waiting_tickets(session, present_only=False)
                    counsellors = await repo.on_duty_counsellors(session)
                    durations = await repo.recent_durations(session, RECENT_CHATS)
            except Exception as exc:
                _log_failure(exc, "position update failed; retrying")
                await asyncio.sleep(1.0)
                self._positions_wanted.set()
                continue
            places = engine.positions(tickets)
            now = loop.time()
            # Whether each watcher can be served at all, for every watcher (once per kind of
            # ticket): a change of it is told at once, however far back (PROTOCOL.md §2.1).
            can_serve = served(tickets, counsellors, self._watchers)
            # Ranges only for the sockets this pass may tell (see _push): computing one for each
            # of 5,000 waiting costs more than reading them.
            due = [
                t
                for t in self._watchers
                if self._due(t, places.get(t), now) or self._flipped(t, can_serve.get(t))
            ]
            found = standings(
                tickets, counsellors, waits.mean_duration(durations), wanted=due, places=places
            )
            await self._pairing_first(budget)
            await self._push(found, still_waiting=places.keys(), budget=budget)

    def _due(self, ticket_id: int, place: engine.Place | None, now: float) -> bool:
        """Whether ``_push`` could tell this watcher anything now (it still waits, and it is new,
        near the front, or not told for ``WAITING_REFRESH``)."""
        return place is not None and (
            ticket_id not in self._last_place
            or place.position <= PROMPT_POSITIONS
            or now - self._pushed_at.get(ticket_id, 0.0) >= WAITING_REFRESH
        )

    def _flipped(self, ticket_id: int, can_serve: bool | None) -> bool:
        """Whether the watcher was last told it can (not) be served, and that changed."""
        last = self._last_place.get(ticket_id)
        return can_serve is not None and last is not None and last.served != can_serve

    async def _push(
        self,
        places: dict[int, Standing],
        still_waiting: Collection[int] | None = None,
        budget: list[float] | None = None,
    ) -> None:
        """Tell each watcher its new standing. At once: a ticket that stopped waiting, a new
        watcher, and a new position or estimate within the first ``PROMPT_POSITIONS`` of a
        queue, and a change of whether anyone on duty can serve it at all. Everything else (a
        longer queue behind, a move far back in the line) at most every ``WAITING_REFRESH``
        seconds per socket: one frame per waiting socket costs tens of microseconds, so 5,000 of
        them on every change would starve pairing (PERFORMANCE.md P-4).
        ``still_waiting``: tickets that wait although ``places`` has no standing for them.

        Watchers are told in slices of ``FANOUT_SLICE``; between two slices the loop runs what
        else is ready (the writers send the slice) and pairing goes first (``budget``: what is
        left of the pass's wait for it). A watcher that went away meanwhile is skipped.
        """
        now = asyncio.get_running_loop().time()
        deferred = False
        told = 0
        for ticket_id, handler in list(self._watchers.items()):
            if told >= FANOUT_SLICE:
                told = 0
                await asyncio.sleep(0)
                await self._pairing_first(budget if budget is not None else [0.0])
            if self._watchers.get(ticket_id) is not handler:
                continue  # unwatched (paired, left, gone) while an earlier slice was sent
            place = places.get(ticket_id)
            if place is None and still_waiting is not None and ticket_id in still_waiting:
                deferred = True  # waiting, but not due: its standing was not computed
                continue
            last = self._last_place.get(ticket_id)
            if place == last:
                continue
            if (
                place is not None
                and last is not None
                and place.served == last.served  # nobody (or somebody again): told at once
                and (
                    place.place.position > PROMPT_POSITIONS
                    or (
                        place.place.position == last.place.position
                        and place.estimate == last.estimate
                    )
                )
                and now - self._pushed_at.get(ticket_id, 0.0) < WAITING_REFRESH
            ):
                deferred = True
                continue
            if place is None:
                self._last_place.pop(ticket_id, None)
            else:
                self._last_place[ticket_id] = place
                self._pushed_at[ticket_id] = now
            handler(place)
            told += 1
        if deferred and self._refresh is None:
            self._refresh = asyncio.get_running_loop().call_later(WAITING_REFRESH, self._refreshed)

    def _refreshed(self) -> None:
        self._refresh = None
        self._positions_wanted.set()

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval)
            try:
                async with transaction(self._sessionmaker) as session:
                    gone = await service.abandon_disconnected(
                        session, grace=self._grace, now=self._clock()
                    )
                    dropped = await service.abandon_gone_chats(
                        session, grace=self._chat_grace, now=self._clock()
                    )
            except Exception as exc:
                _log_failure(exc, "abandonment sweep failed")
                continue
            if gone:
                self.queue_changed()
            for conv_id, closed in dropped:
                publish_closed(
                    self._broker, conv_id, by="Y", reason="abandoned", offer_to=closed.offer_to
                )
            if dropped:
                self.request_match()
            for chore in self._chores:
                await chore()


def _log_failure(exc: Exception, what: str) -> None:
    """A database outage is expected and said in one line; anything else is a bug: traceback."""
    if is_outage(exc):
        log.warning("%s: database unavailable (%s)", what, type(exc).__name__)
    else:
        log.exception(what)


def get_dispatcher(conn: HTTPConnection) -> Dispatcher:
    """This process's Dispatcher, created by the app factory's lifespan."""
    return dispatcher_of(conn.app)


def dispatcher_of(app: Starlette) -> Dispatcher:
    """The Dispatcher of ``app``; ``AttributeError`` before its lifespan started."""
    found: Dispatcher = app.state.dispatcher
    return found
