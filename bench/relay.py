"""Relay benchmarks against L0, the bare relay (PERFORMANCE.md P-2, P-3).

    python -m bench.relay --scenario p2 --pairs 100 --seconds 10 --rounds 3 [--generators 2]
    python -m bench.relay --scenario p3 --pairs 500 --rate 1000 --seconds 10

Each round runs L0 and then the app (SQLite, group commit) under identical uvicorn settings,
with the same load generator: ``--generators N`` processes (bench/harness.py), each driving its
share of the pairs, their results merged. The server is pinned to the last CPU, the generators
round robin to the others. Messages in the app path are real v1-shaped envelopes from the
reference client. Prints one JSON line per measurement (with the generators' CPU and a
``generator_bottleneck`` flag) and a table of medians with the app/L0 ratio.

The other scenarios live beside this one: bench/idle.py (P-1), bench/scaleout.py (P-6),
bench/storm.py (P-7), bench/soak.py (P-9).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect

from app.client import CounsellorClient, YouthClient, login
from app.client.envelopes import Sender
from bench import harness, rawws, readings
from bench.harness import STAFF_PASSWORD

# ---------------------------------------------------------------------- pairs


class Sends(Protocol):
    async def send(self, message: str, /) -> None: ...


@dataclass
class Side:
    """One end of a chat: the socket it sends on and a queue of arrivals for it."""

    ws: Sends
    make: Callable[[], tuple[str, str]]  # () -> (frame text, message id)
    arrivals: asyncio.Queue[tuple[str, float]]


@dataclass
class Pair:
    youth: Side
    counsellor: Side


class Demux:
    """Routes each arriving message id to the right side. The sockets are set up with
    ``websockets``; for the load each is handed to a ``rawws.RawSocket`` (its reading and
    writing cost the generator a fraction of what ``websockets`` costs), and every side sends
    on its socket's raw one from then on."""

    def __init__(self) -> None:
        self.routes: dict[tuple[int, str], Side] = {}  # (socket id, conv key) -> side
        self.raw: list[rawws.RawSocket] = []
        self.other_frames = 0

    def route(self, ws: ClientConnection, key: str, side: Side) -> None:
        self.routes[(id(ws), key)] = side

    def start(
        self, sockets: list[ClientConnection], key_of: Callable[[str], tuple[str, str] | None]
    ) -> None:
        taken: dict[int, rawws.RawSocket] = {}
        for ws in {id(w): w for w in sockets}.values():
            taken[id(ws)] = rawws.take_over(ws, self._reader(id(ws), key_of))
        for (ws_id, _), side in self.routes.items():
            side.ws = taken[ws_id]
        self.raw = list(taken.values())

    def _reader(
        self, ws_id: int, key_of: Callable[[str], tuple[str, str] | None]
    ) -> Callable[[bytes], None]:
        routes = self.routes

        def arrived(payload: bytes) -> None:
            now = time.perf_counter()
            found = key_of(payload.decode())
            if found is None:
                self.other_frames += 1
                return
            key, message_id = found
            routes[(ws_id, key)].arrivals.put_nowait((message_id, now))

        return arrived

    async def stop(self) -> None:
        for raw in self.raw:
            raw.close()
        if self.raw:
            await asyncio.wait([raw.closed for raw in self.raw], timeout=5)


# The generator must stay light (PERFORMANCE.md: under ~70 % of its core), so arriving frames
# are routed by slicing the text at known offsets instead of parsing JSON.


def _l0_key(frame: str) -> tuple[str, str] | None:
    start = frame.index('"id": "') + 7
    return ("pair", frame[start : frame.index('"', start)])


def _app_key(frame: str) -> tuple[str, str] | None:
    # {"type":"envelope","envelope":{"v":1,"cs":1,"conv":"<22>","seg":0,"role":"Y",…,"seq":N,…
    if not frame.startswith('{"type":"envelope"'):
        return None
    conv_at = frame.index('"conv":"') + 8
    role_at = frame.index('"role":"', conv_at) + 8
    seq_at = frame.index('"seq":', role_at) + 6
    seq_end = frame.index(",", seq_at)
    return (frame[conv_at : conv_at + 22], frame[role_at] + frame[seq_at:seq_end])


def _pre_encoded(sender: Sender) -> Callable[[], tuple[str, str]]:
    """Frames of ``sender``'s v1 envelopes encoded once around the ``seq``: the generator pays
    a string join per frame, not a fresh random ``ct``, base64 and a JSON dump (which cost it
    ~10 times L0's frame). The server sees a valid envelope with the next ``seq`` each time."""
    env = sender.test_envelope()
    marker = 987654321987
    body = env.as_dict()
    body["seq"] = marker
    head, tail = json.dumps({"type": "envelope", "envelope": body}).split(str(marker))
    counter = iter(range(env.seq, 10**15))

    def build() -> tuple[str, str]:
        seq = str(next(counter))
        return head + seq + tail, env.role + seq

    return build


async def l0_pairs(
    base: str, n: int, frame_size: int, demux: Demux, offset: int = 0
) -> tuple[list[Pair], list[ClientConnection]]:
    ws_url = base.replace("http://", "ws://") + "/"
    pad = "x" * max(0, frame_size - 40)
    pairs, sockets = [], []
    for i in range(offset, offset + n):
        a = await connect(ws_url, compression=None, max_size=2**20)
        b = await connect(ws_url, compression=None, max_size=2**20)
        await a.send(f"p{i}")
        await b.send(f"p{i}")
        counter = iter(range(10**12))

        def make(counter: Iterator[int] = counter) -> tuple[str, str]:
            # Pre-encoded around the id, as the app's frames are around their seq (below).
            message_id = str(next(counter))
            return f'{{"type": "envelope", "id": "{message_id}", "pad": "{pad}"}}', message_id

        youth = Side(a, make, asyncio.Queue())
        counsellor = Side(b, make, asyncio.Queue())
        demux.route(a, "pair", youth)
        demux.route(b, "pair", counsellor)
        pairs.append(Pair(youth, counsellor))
        sockets += [a, b]
    return pairs, sockets


async def app_pairs(
    base: str,
    staff: list[tuple[str, str, str]],
    n: int,
    demux: Demux,
    youth_base: str | None = None,
) -> tuple[list[Pair], list[ClientConnection], list[Any]]:
    """``n`` chats between young people (on ``youth_base``, default ``base``) and ``staff``
    (whose capacities must add up to ``n``, so that no other generator's young person pairs
    with them)."""
    from app.security.totp import current_code

    consoles: list[CounsellorClient] = []
    for username, secret, code in staff:
        creds = await asyncio.to_thread(
            login, base, username, STAFF_PASSWORD, current_code(secret, time.time())
        )
        console = CounsellorClient(base, enrol_code=code)
        await console.connect(creds)
        await console.duty(True)
        consoles.append(console)
    youths = []
    for _ in range(n):
        y = YouthClient(youth_base or base)
        await y.connect()
        await y.join()
        youths.append(y)
    conv_console: dict[str, CounsellorClient] = {}
    deadline = time.monotonic() + 120
    while len(conv_console) < n and time.monotonic() < deadline:
        for console in consoles:
            try:
                frame = await console.expect("assigned", timeout=0.05)
            except TimeoutError:
                continue
            conv_console[frame["conv"]] = console
    pairs, sockets = [], []
    for y in youths:
        await y.wait_paired(timeout=30)
        assert y.sender is not None and y.conv is not None and y.ws is not None
        console = conv_console[y.conv]
        assert console.ws is not None
        ys, cs = y.sender, Sender(conv=y.conv, role="C")

        def make(sender: Sender) -> Callable[[], tuple[str, str]]:
            return _pre_encoded(sender)

        youth = Side(y.ws, make(ys), asyncio.Queue())
        counsellor = Side(console.ws, make(cs), asyncio.Queue())
        demux.route(y.ws, y.conv, youth)
        demux.route(console.ws, y.conv, counsellor)
        pairs.append(Pair(youth, counsellor))
        sockets += [y.ws, console.ws]
    return pairs, sockets, [*youths, *consoles]


# ---------------------------------------------------------------------- load


async def closed_loop(pairs: list[Pair], seconds: float) -> int:
    """Each pair ping-pongs as fast as the relay allows; returns frames relayed."""
    stop_at = time.perf_counter() + seconds
    relayed = 0

    async def run(pair: Pair) -> None:
        nonlocal relayed
        while time.perf_counter() < stop_at:
            frame, _ = pair.youth.make()
            await pair.youth.ws.send(frame)
            await pair.counsellor.arrivals.get()
            frame, _ = pair.counsellor.make()
            await pair.counsellor.ws.send(frame)
            await pair.youth.arrivals.get()
            relayed += 2

    await asyncio.gather(*(run(p) for p in pairs))
    return relayed


async def open_loop(
    pairs: list[Pair], rate: float, seconds: float, both_ways: bool = False
) -> tuple[list[float], int]:
    """Sends at a fixed total rate, round robin over the pairs (young person -> counsellor, and
    back too when ``both_ways``); latency from the schedule. Returns the latencies and the
    frames not delivered within 1 s of the end."""
    latencies: list[float] = []
    sent_at: dict[tuple[int, str], float] = {}
    interval = 1.0 / rate
    total = int(rate * seconds)
    start = time.perf_counter() + 0.05
    sides = [(p.youth, p.counsellor) for p in pairs]
    if both_ways:
        sides += [(p.counsellor, p.youth) for p in pairs]

    async def collect(index: int, receiver: Side) -> None:
        while True:
            message_id, arrived = await receiver.arrivals.get()
            scheduled = sent_at.pop((index, message_id), None)
            if scheduled is not None:
                latencies.append(arrived - scheduled)

    collectors = [asyncio.create_task(collect(i, r)) for i, (_, r) in enumerate(sides)]
    for k in range(total):
        scheduled = start + k * interval
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        index = k % len(sides)
        frame, message_id = sides[index][0].make()
        sent_at[(index, message_id)] = scheduled
        await sides[index][0].ws.send(frame)
    await asyncio.sleep(1.0)
    for task in collectors:
        task.cancel()
    await asyncio.gather(*collectors, return_exceptions=True)
    return latencies, len(sent_at)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# ---------------------------------------------------------------------- one generator process


async def generator(job: dict[str, Any], ready: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    """One generator process's share (``harness.Generators``): set up its pairs, wait for go,
    run the load, report what it saw and its own CPU over the measured window."""
    demux = Demux()
    extra: list[Any] = []
    if job["kind"] == "L0":
        pairs, sockets = await l0_pairs(
            job["base"], job["pairs"], job["frame_size"], demux, job["offset"]
        )
        key_of = _l0_key
    else:
        pairs, sockets, extra = await app_pairs(
            job["base"], job["staff"], job["pairs"], demux, job.get("youth_base")
        )
        key_of = _app_key
    demux.start(sockets, key_of)
    try:
        await ready()
        meter = readings.CpuMeter()
        if job["scenario"] == "p2":
            out: dict[str, Any] = {"relayed": await closed_loop(pairs, job["seconds"])}
        else:
            latencies, lost = await open_loop(pairs, job["rate"], job["seconds"])
            out = {"latencies": latencies, "lost": lost}
        out["cpu_fraction"] = meter.fraction()
        return out
    finally:
        await demux.stop()
        for ws in {id(w): w for w in sockets}.values():
            await ws.close()
        for client in extra:
            await client.close()


def app_jobs(args: argparse.Namespace) -> list[tuple[dict[str, Any], list[int]]]:
    """The app's generator jobs (staff not yet made): each share's counsellors' capacities add
    up to its pairs, ten chats per counsellor at most."""
    jobs = []
    for share in harness.shares(args.pairs, args.generators):
        counsellors = -(-share // 10)
        jobs.append(({"kind": "app", "pairs": share}, harness.shares(share, counsellors)))
    return jobs


def measure(
    kind: str,
    args: argparse.Namespace,
    base: str,
    pids: list[int],
    jobs: list[dict[str, Any]],
    **fields: Any,
) -> dict[str, Any]:
    """Run ``jobs`` (one per generator process) against ``base`` (the server processes
    ``pids``); one merged result row, with ``fields`` (e.g. another scenario name)."""
    window = args.seconds if args.scenario == "p2" else args.seconds + 0.5
    common = {"base": base, "scenario": args.scenario, "seconds": args.seconds}
    for job in jobs:
        job.update(common, rate=args.rate / len(jobs), frame_size=args.frame_size)
    results, server_cpu = harness.Generators("bench.relay:generator", jobs).run(
        lambda: sum(readings.cpu_seconds(pid) for pid in pids), window
    )
    row: dict[str, Any] = {"scenario": "P-2" if args.scenario == "p2" else "P-3", "server": kind}
    row.update(fields, pairs=args.pairs)
    if args.scenario == "p2":
        relayed = sum(r["relayed"] for r in results)
        row.update(seconds=args.seconds, frames_per_s=round(relayed / args.seconds, 1))
        frames = relayed
    else:
        latencies = [x for r in results for x in r["latencies"]]
        row.update(rate=args.rate, delivered=len(latencies), lost=sum(r["lost"] for r in results))
        row.update(p50_ms=round(pct(latencies, 0.5) * 1000, 2))
        row.update(p99_ms=round(pct(latencies, 0.99) * 1000, 2))
        frames = len(latencies)
    # Server CPU per relayed frame: robust to a shared, noisy machine (and P-6's metric).
    row["server_cpu_us_per_frame"] = round(server_cpu / max(1, frames) * 1e6, 1)
    row.update(readings.generator_check(results))
    if row.get("lost"):
        readings.warn(f"{row['lost']} frames not delivered within 1 s of the run's end")
    return readings.emit(row)


def l0_jobs(args: argparse.Namespace) -> list[dict[str, Any]]:
    sizes = harness.shares(args.pairs, args.generators)
    return [{"kind": "L0", "pairs": n, "offset": sum(sizes[:i])} for i, n in enumerate(sizes)]


def parser(doc: str | None = __doc__) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--pairs", type=int, default=100)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--rate", type=float, default=1000.0, help="open loop: frames per second")
    p.add_argument("--generators", type=int, default=1, help="load-generator processes")
    p.add_argument(
        "--frame-size", type=int, default=0, help="L0 frame bytes (0: the app's envelope size)"
    )
    return p


def envelope_frame_size() -> int:
    sample = Sender(conv="A" * 22, role="Y").test_envelope()
    return len(json.dumps({"type": "envelope", "envelope": sample.as_dict()}))


def main() -> None:
    p = parser()
    p.add_argument("--scenario", choices=("p2", "p3"), default="p2")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument(
        "--database-url", default=None, help="app database (default: a fresh SQLite file)"
    )
    args = p.parse_args()
    args.frame_size = args.frame_size or envelope_frame_size()
    results: dict[str, list[dict[str, Any]]] = {"L0": [], "app": []}
    for _ in range(args.rounds):
        with harness.l0_server() as l0:
            results["L0"].append(measure("L0", args, l0.base, [l0.pid], l0_jobs(args)))
        with harness.app_database(url=args.database_url) as db:
            planned = app_jobs(args)
            staff = harness.make_staff(db, [c for _, caps in planned for c in caps])
            jobs, used = [], 0
            for job, caps in planned:
                jobs.append({**job, "staff": staff[used : used + len(caps)]})
                used += len(caps)
            with harness.app_server(db) as app:
                results["app"].append(measure("app", args, app.base, [app.pid], jobs))
    summary(args, results)


def summary(args: argparse.Namespace, results: dict[str, list[dict[str, Any]]]) -> None:
    def med(kind: str, key: str) -> float:
        return float(statistics.median(r[key] for r in results[kind]))

    def gen(kind: str) -> str:
        return "yes" if any(r["generator_bottleneck"] for r in results[kind]) else "no"

    if args.scenario == "p2":
        rows = [
            (
                k,
                med(k, "frames_per_s"),
                med(k, "server_cpu_us_per_frame"),
                med(k, "generator_cpu"),
                gen(k),
            )
            for k in ("L0", "app")
        ]
        readings.table(
            f"P-2 closed loop, {args.pairs} pairs, {args.frame_size}-byte frames, "
            f"median of {args.rounds}, {args.generators} generator(s)",
            ("server", "frames/s", "server CPU-us/frame", "generator core", "generator-bound"),
            rows,
        )
        ratio = rows[1][1] / rows[0][1] if rows[0][1] else float("nan")
        cpu_ratio = rows[0][2] / rows[1][2] if rows[1][2] else float("nan")
        print(
            f"  ratio app/L0: {ratio:.2f} in frames/s (target >= 0.50), "
            f"{cpu_ratio:.2f} in CPU per frame"
        )
    else:
        readings.table(
            f"P-3 open loop, {args.rate:.0f} frames/s over {args.pairs} pairs",
            ("server", "p50 ms", "p99 ms", "generator core", "generator-bound"),
            [
                (k, med(k, "p50_ms"), med(k, "p99_ms"), med(k, "generator_cpu"), gen(k))
                for k in ("L0", "app")
            ],
        )
        print("  target (app): p50 <= 5 ms, p99 <= 20 ms")
    if any(r["generator_bottleneck"] for rs in results.values() for r in rs):
        print("  WARNING: a generator was above 70 % of its core: these figures measure it")


if __name__ == "__main__":
    main()
