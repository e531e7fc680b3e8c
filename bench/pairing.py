"""Pairing and position updates with 5,000 waiting (PERFORMANCE.md P-4).

    python -m bench.pairing --scenario engine              # the pure rules alone
    python -m bench.pairing --scenario service             # + the database (SQLite file)
    python -m bench.pairing --scenario service --database-url postgresql+asyncpg://…/empty_db
    python -m bench.pairing --scenario server --rounds 60  # a real server and 5,000 sockets

``engine``: ``engine.assign`` when one seat frees among 200 full counsellors, and
``positions.standings`` (place + wait range) for all 5,000, on the same snapshot.

``service``: 5,000 waiting tickets and 20 counsellors (capacity 2, all busy) in a migrated
database. Each round closes one chat in one transaction and then runs ``service.match`` in the
next, as the dispatcher does; timed is the matching transaction (lock, snapshot, engine, writes,
commit) and the position pass (the three queries and ``standings``). Checks that every round
paired exactly one ticket and no ticket was paired twice.

``server``: ``vhouse serve`` on a fresh SQLite file (pinned to CPU 1, this generator to CPU 0).
5,000 tickets are written to the database and taken up by 5,000 sockets with ``resume`` (250 at
a time, as the server answers), so the queue fills without 5,000 joins; 10 counsellors (capacity
2) take the first 20. Then each round a counsellor closes a chat; timed from that ``close`` are
(a) the counsellor's ``assigned`` and the young person's ``paired`` (both sides told), (b) the
moment the first 20 still waiting have their new, smaller position (told at once), and (c) the
moment every still-waiting socket has it (those further back are told at the next refresh,
within 5 s: app/triage/dispatcher.py). Half the rounds run with joins arriving at
``--joins-per-second`` (default 20) on new sockets. All figures include this generator's time to
read the frames: upper bounds for the server.

Prints one JSON line per measurement and a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.triage import engine, waits  # noqa: E402
from app.triage.positions import standings  # noqa: E402
from bench import readings  # noqa: E402

WAITING = 5000
#: The dispatcher tells the first PROMPT in each queue of every move at once, the rest within
#: its WAITING_REFRESH (app/triage/dispatcher.py).
PROMPT = 20
STAFF_PASSWORD = "bench password that is long enough"


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def _report(name: str, values_ms: list[float], **extra: Any) -> dict[str, Any]:
    row = {
        "scenario": name,
        "n": len(values_ms),
        "p50_ms": round(_pct(values_ms, 50), 3),
        "p99_ms": round(_pct(values_ms, 99), 3),
        "max_ms": round(max(values_ms), 3),
        **extra,
    }
    print(json.dumps(row), flush=True)
    return row


def _table(rows: list[dict[str, Any]]) -> None:
    print(f"\n{'measure':<58} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    for r in rows:
        print(f"{r['scenario']:<58} {r['n']:>5} {r['p50_ms']:>9} {r['p99_ms']:>9} {r['max_ms']:>9}")


# ---------------------------------------------------------------------- engine (pure)


def _snapshot(
    rng: random.Random, waiting: int
) -> tuple[list[engine.WaitingTicket], list[engine.OnDutyCounsellor]]:
    tickets = []
    for i in range(waiting):
        kind = "professional" if rng.random() < 0.15 else "youth"
        language = rng.choices(["sv", "en", "ar"], [0.7, 0.15, 0.15])[0]
        urgent = engine.Priority.URGENT if rng.random() < 0.05 else engine.Priority.NORMAL
        skill = "police" if rng.random() < 0.05 else None
        tickets.append(engine.WaitingTicket(i + 1, kind, language, urgent, float(i), skill))
    counsellors = []
    for i in range(200):
        languages = frozenset(["sv", *rng.sample(["en", "ar"], rng.randint(0, 2))])
        skills = frozenset(["youth", *(["professional"] if i % 3 == 0 else [])])
        skills |= {"police"} if i % 10 == 0 else frozenset()
        load = 1 if i == 199 else 2  # one seat just came free
        counsellors.append(
            engine.OnDutyCounsellor(f"c{i:03}", languages, skills, 2, load, float(i))
        )
    return tickets, counsellors


def _timed(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def scenario_engine(args: argparse.Namespace) -> list[dict[str, Any]]:
    tickets, counsellors = _snapshot(random.Random(4), args.waiting)
    decided = engine.assign(tickets, counsellors)
    assert len(decided) == 1, decided
    full = [
        c if c.load == 2 else engine.OnDutyCounsellor(c.id, c.languages, c.skills, 2, 2)
        for c in counsellors
    ]
    mean = waits.mean_duration([900.0, 1200.0, 600.0])
    return [
        _report(
            f"engine.assign: {args.waiting} waiting, 200 counsellors, 1 free seat",
            _timed(lambda: engine.assign(tickets, counsellors), args.repeat),
        ),
        _report(
            "engine.assign: the same, every seat taken (early exit)",
            _timed(lambda: engine.assign(tickets, full), args.repeat),
        ),
        _report(
            f"positions.standings: place + wait range for all {args.waiting}",
            _timed(lambda: standings(tickets, counsellors, mean), args.repeat),
        ),
    ]


# ---------------------------------------------------------------------- service (database)


async def _seed(url: str, waiting: int, counsellors: int, *, languages: str = "sv") -> list[str]:
    """Counsellors on duty (with a registered-looking device) and ``waiting`` tickets; returns
    the tickets' bearer tokens in queue order."""
    from sqlalchemy import insert

    from app.config import Settings
    from app.db import make_engine, make_sessionmaker, transaction
    from app.kit.ids import new_id, new_token, token_digest
    from app.models import Device, Staff, Ticket

    eng = make_engine(Settings(mode="test", database_url=url))
    tokens = [new_token() for _ in range(waiting)]
    now = time.time()
    try:
        async with transaction(make_sessionmaker(eng)) as session:
            for i in range(counsellors):
                staff_id = new_id()
                session.add(
                    Staff(
                        id=staff_id,
                        username=f"bench{i}",
                        alias=f"C{i}",
                        role="counsellor",
                        password_hash="-",
                        totp_secret="-",
                        languages=languages,
                        skills="youth",
                        capacity=2,
                        on_duty=True,
                        idle_since=now,
                        created_at=now,
                    )
                )
                await session.flush()
                device = new_id()
                session.add(
                    Device(
                        id=device,
                        staff_id=staff_id,
                        hpke_public_key="A" * 87,
                        sig_public_key="A" * 87,
                        not_after=2**40,
                        certificate="A" * 86,
                        created_at=now,
                    )
                )
                await session.flush()
                staff = await session.get(Staff, staff_id)
                assert staff is not None
                staff.duty_device_id = device
            await session.execute(
                insert(Ticket),
                [
                    {
                        "token_digest": token_digest(token),
                        "kind": "youth",
                        "language": "sv",
                        "urgent": False,
                        "status": "waiting",
                        "joined_at": now - waiting + i,
                    }
                    for i, token in enumerate(tokens)
                ],
            )
    finally:
        await eng.dispose()
    return tokens


async def _service(url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    from sqlalchemy import func, select

    from app.config import Settings
    from app.db import make_engine, make_sessionmaker, transaction
    from app.models import Conversation
    from app.triage import repository as repo
    from app.triage import service
    from app.triage import service as triage_service

    await _seed(url, args.waiting, 20)
    eng = make_engine(Settings(mode="test", database_url=url))
    sm = make_sessionmaker(eng)
    match_ms, positions_ms = [], []
    try:
        async with transaction(sm) as session:
            first = await service.match(session, time.time())
        assert len(first) == 40, len(first)
        open_convs = [p.conv_id for p in first]
        rng = random.Random(7)
        for _ in range(args.rounds):
            conv = open_convs.pop(rng.randrange(len(open_convs)))
            async with transaction(sm) as session:
                assert await triage_service.close(session, conv, by="C", now=time.time())
            start = time.perf_counter()
            async with transaction(sm) as session:
                paired = await service.match(session, time.time())
            match_ms.append((time.perf_counter() - start) * 1000)
            assert len(paired) == 1, paired
            open_convs.append(paired[0].conv_id)
            start = time.perf_counter()
            async with sm() as session:
                tickets = await repo.waiting_tickets(session, present_only=False)
                counsellors = await repo.on_duty_counsellors(session)
                durations = await repo.recent_durations(session, 50)
            standings(tickets, counsellors, waits.mean_duration(durations))
            positions_ms.append((time.perf_counter() - start) * 1000)
        async with sm() as session:
            per_ticket = (
                await session.execute(
                    select(func.count()).select_from(Conversation).group_by(Conversation.ticket_id)
                )
            ).scalars()
            twice = sum(1 for n in per_ticket if n > 1)
    finally:
        await eng.dispose()
    kind = url.split(":", 1)[0]
    return [
        _report(
            f"service.match after a seat frees ({kind}, {args.waiting} waiting)",
            match_ms,
            double_assignments=twice,
        ),
        _report(f"position pass: 3 queries + standings ({kind}, {args.waiting})", positions_ms),
    ]


def scenario_service(args: argparse.Namespace) -> list[dict[str, Any]]:
    from app import migrate

    tmp = Path(tempfile.mkdtemp(prefix="vh-bench-"))
    url = args.database_url or f"sqlite+aiosqlite:///{tmp}/pairing.sqlite3"
    try:
        migrate.upgrade(url)
        return asyncio.run(_service(url, args))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------- server (sockets)


class Youth:
    """One raw youth socket: remembers its latest position and when each frame arrived."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.position: int | None = None
        self.moved_at: float = 0.0  # when the position last went down
        self.paired_at: float | None = None
        self.pairings = 0
        self.errors: list[str] = []

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                now = time.perf_counter()
                # Sliced, not parsed: the generator must stay light.
                if raw.startswith('{"type":"position"'):
                    at = raw.index('"position":', 18) + 11
                    position = int(raw[at : raw.index(",", at)])
                    if self.position is None or position < self.position:
                        self.moved_at = now
                    self.position = position
                elif raw.startswith('{"type":"paired"'):
                    self.paired_at = now
                    self.pairings += 1
                    self.position = None
                elif raw.startswith('{"type":"error"'):
                    self.errors.append(json.loads(raw)["code"])
        except Exception:  # noqa: S110 - the socket closed: nothing more to read
            pass


async def answered(batch: list[Youth], deadline: float) -> None:
    """Wait until every socket of ``batch`` has its place or an error (or ``deadline``)."""
    while any(y.position is None and not y.errors for y in batch) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def _youth_socket(base: str, first: dict[str, Any]) -> Youth:
    from websockets.asyncio.client import connect

    ws = await connect(
        base.replace("http://", "ws://") + "/ws/youth",
        origin=base,  # type: ignore[arg-type]
        compression=None,
        max_size=2**20,
        open_timeout=60,
        ping_interval=None,
    )
    await ws.send(json.dumps(first))
    youth = Youth(ws)
    return youth


async def _console(base: str, username: str, secret: str, code: str) -> Any:
    from app.client import CounsellorClient, login
    from app.security.totp import current_code

    creds = await asyncio.to_thread(
        login, base, username, STAFF_PASSWORD, current_code(secret, time.time())
    )
    console = CounsellorClient(base, enrol_code=code)
    await console.connect(creds)
    return console


async def _server_run(
    base: str, tokens: list[str], staff: list[tuple[str, str, str]], args: argparse.Namespace
) -> list[dict[str, Any]]:

    youths: list[Youth] = []
    readers: list[asyncio.Task[None]] = []
    for start in range(0, len(tokens), 250):
        batch = await asyncio.gather(
            *(
                _youth_socket(base, {"type": "resume", "ticket": t})
                for t in tokens[start : start + 250]
            )
        )
        youths += batch
        readers += [asyncio.create_task(y.read()) for y in batch]
        await answered(batch, time.monotonic() + 60)  # the queue fills as the server answers
    deadline = time.monotonic() + 120
    while any(y.position is None for y in youths) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    print(
        json.dumps(
            {"connected": len(youths), "placed": sum(y.position is not None for y in youths)}
        ),
        flush=True,
    )

    consoles = [await _console(base, u, s, c) for u, s, c in staff]
    for console in consoles:
        await console.duty(True)
    open_convs: list[tuple[Any, str]] = []
    while len(open_convs) < 2 * len(consoles):
        for console in consoles:
            try:
                frame = await console.expect("assigned", timeout=0.05)
            except TimeoutError:
                continue
            open_convs.append((console, frame["conv"]))
    await asyncio.sleep(1.0)  # let the first position fan-out settle

    joiners: list[Youth] = []
    joining = asyncio.Event()

    async def join_loop() -> None:
        interval = 1.0 / args.joins_per_second
        next_at = time.perf_counter()
        while True:
            await joining.wait()
            next_at = max(next_at + interval, time.perf_counter() - interval)
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            triage = {"language": "sv", "kind": "youth", "danger_now": False}
            y = await _youth_socket(base, {"type": "join", "triage": triage})
            joiners.append(y)
            readers.append(asyncio.create_task(y.read()))

    joiner = asyncio.create_task(join_loop())
    rng = random.Random(11)
    told_ms: dict[bool, list[float]] = {False: [], True: []}
    fanout_ms: dict[bool, list[float]] = {False: [], True: []}
    front_ms: dict[bool, list[float]] = {False: [], True: []}
    waiting_at_change: list[int] = []
    failed = lost = 0
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    wall_before = time.perf_counter()
    try:
        for round_no in range(args.rounds):
            with_joins = round_no >= args.rounds // 2
            if with_joins:
                joining.set()
            console, conv = open_convs.pop(rng.randrange(len(open_convs)))
            waiting_now = [y for y in youths if y.position is not None]
            t0 = time.perf_counter()
            await console.send({"type": "close", "conv": conv})
            try:
                frame = await console.expect("assigned", timeout=30)
            except TimeoutError:
                failed += 1
                continue
            t_staff = time.perf_counter()
            new_conv = frame["conv"]
            open_convs.append((console, new_conv))
            head = [y for y in waiting_now if y.paired_at is not None and y.paired_at >= t0]
            limit = time.monotonic() + 30
            while not head and time.monotonic() < limit:
                await asyncio.sleep(0.001)
                head = [y for y in waiting_now if y.paired_at is not None and y.paired_at >= t0]
            if not head:
                lost += 1
                continue
            told_ms[with_joins].append((max(t_staff, head[0].paired_at or 0) - t0) * 1000)
            rest = [y for y in waiting_now if y not in head]
            front = [y for y in rest if y.position is not None and y.position <= PROMPT + 1]
            while any(y.moved_at < t0 for y in front) and time.monotonic() < limit:
                await asyncio.sleep(0.001)
            front_ms[with_joins].append((max(y.moved_at for y in front) - t0) * 1000)
            while any(y.moved_at < t0 for y in rest) and time.monotonic() < limit:
                await asyncio.sleep(0.005)
            fanout_ms[with_joins].append((max(y.moved_at for y in rest) - t0) * 1000)
            waiting_at_change.append(len(rest))
            await asyncio.sleep(0.2)
    finally:
        joiner.cancel()
        wall = time.perf_counter() - wall_before
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    pairings = [y.pairings for y in youths + joiners]
    double = sum(1 for n in pairings if n > 1)
    errors = [e for y in youths + joiners for e in y.errors]
    print(
        json.dumps(
            {
                "rounds_without_assignment": failed,
                "paired_not_told": lost,
                "youth_error_frames": len(errors),
                "codes": sorted(set(errors)),
            }
        ),
        flush=True,
    )
    rows = [
        _report("server: close -> both sides told (no joins)", told_ms[False]),
        _report(
            f"server: close -> both sides told ({args.joins_per_second} joins/s)",
            told_ms[True],
            double_assignments=double,
        ),
        _report(
            f"server: one change -> the first {PROMPT} in line told (no joins)", front_ms[False]
        ),
        _report(f"server: the same ({args.joins_per_second} joins/s)", front_ms[True]),
        _report(
            "server: one change -> every waiting socket has its new place (no joins)",
            fanout_ms[False],
            waiting=min(waiting_at_change),
        ),
        _report(
            f"server: the same ({args.joins_per_second} joins/s)",
            fanout_ms[True],
            joined=len(joiners),
            **readings.generator_check([{"cpu": 0, "cpu_fraction": cpu / wall}]),
        ),
    ]
    for console in consoles:
        await console.close()
    for y in youths + joiners:
        await y.ws.close()
    for task in readers:
        task.cancel()
    return rows


def scenario_server(args: argparse.Namespace) -> list[dict[str, Any]]:
    from bench import harness

    with harness.app_database() as db:
        tokens = asyncio.run(_seed(db.url, args.waiting, 0))
        staff = harness.make_staff(db, [2] * 10)
        with harness.app_server(db) as server:
            return asyncio.run(_server_run(server.base, tokens, staff, args))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", choices=("engine", "service", "server"), default="engine")
    parser.add_argument("--waiting", type=int, default=WAITING)
    parser.add_argument("--repeat", type=int, default=50, help="engine: repetitions")
    parser.add_argument("--rounds", type=int, default=60, help="service/server: seats freed")
    parser.add_argument("--joins-per-second", type=float, default=20.0)
    parser.add_argument("--database-url", help="service: an empty database (default: SQLite)")
    args = parser.parse_args()

    readings.pin_self()  # the server (if any) runs on the last CPU
    run = {"engine": scenario_engine, "service": scenario_service, "server": scenario_server}
    _table(run[args.scenario](args))


if __name__ == "__main__":
    main()
