"""Relay benchmarks against L0, the bare relay (PERFORMANCE.md P-2, P-3).

    python -m bench.relay --scenario p2 --pairs 100 --seconds 10 --rounds 3
    python -m bench.relay --scenario p3 --pairs 200 --rate 1000 --seconds 10

Each round runs L0 and then the app (SQLite, group commit) under identical uvicorn settings,
the server pinned to CPU 1 and this load generator to CPU 0 when `taskset` exists. Messages in
the app path are real v1-shaped envelopes from the reference client. Prints one JSON line per
measurement and a table of medians with the app/L0 ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from app.client import CounsellorClient, YouthClient, login
from app.client.envelopes import Sender

ROOT = Path(__file__).resolve().parent.parent
STAFF_PASSWORD = "bench password that is long enough"


def _pin(cpu: int) -> list[str]:
    return (
        ["taskset", "-c", str(cpu)]
        if shutil.which("taskset") and os.cpu_count() and os.cpu_count() > 1
        else []
    )  # type: ignore[operator]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


UVICORN_FLAGS = [
    "--ws",
    "websockets-sansio",
    "--ws-max-size",
    "65536",
    "--ws-per-message-deflate",
    "false",
    "--no-access-log",
    "--no-server-header",
    "--log-level",
    "warning",
]


@contextmanager
def l0_server() -> Iterator[tuple[str, int]]:
    port = _free_port()
    cmd = [
        *_pin(1),
        sys.executable,
        "-m",
        "uvicorn",
        "bench.l0:app",
        "--port",
        str(port),
        *UVICORN_FLAGS,
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT)  # noqa: S603
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                import socket

                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait()


@contextmanager
def app_server(
    counsellors: int, capacity: int, database_url: str | None = None
) -> Iterator[tuple[str, list[tuple[str, str, str]], int]]:
    """The real app (``vhouse serve``) on a fresh SQLite file; yields its URL and staff logins."""
    tmp = Path(tempfile.mkdtemp(prefix="vh-bench-"))
    url = database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "VH_MODE": "test",
        "VH_DATABASE_URL": url,
        "VH_ALLOWED_ORIGINS": json.dumps([base]),
        "VH_COOKIE_SECURE": "false",
        "VH_WS_FRAMES_PER_MINUTE": "100000000",
        "VH_YOUTH_JOINS_PER_WINDOW": "100000000",
        "VH_QUEUE_CAP": "100000",
        # The bench's young people relay without sealing keys: nothing is ever accepted.
        "VH_ACCEPT_TIMEOUT_SECONDS": "86400",
        # The server secret the staff's sealed TOTP secrets are made under (issue 13).
        "VH_KEY_DIR": str(tmp / "keys"),
    }
    from app import migrate

    migrate.upgrade(url)
    staff = asyncio.run(_make_staff(url, counsellors, capacity, tmp / "keys"))
    proc = subprocess.Popen(  # noqa: S603
        [*_pin(1), sys.executable, "-m", "app.cli", "serve", "--port", str(port)], cwd=ROOT, env=env
    )
    try:
        _wait_http(base + "/healthz", proc)
        yield base, staff, proc.pid
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


async def _make_staff(url: str, n: int, capacity: int, key_dir: Path) -> list[tuple[str, str, str]]:
    """``n`` counsellors: (username, TOTP secret, enrolment code of their one device)."""
    from app.config import Settings
    from app.db import make_engine, make_sessionmaker, transaction
    from app.keys import enrolment
    from app.security.secret import ensure_secret
    from app.staff import service

    server_secret = ensure_secret(key_dir)
    engine = make_engine(Settings(mode="test", database_url=url))
    out = []
    try:
        for i in range(n):
            async with transaction(make_sessionmaker(engine)) as session:
                created = await service.add_staff(
                    session,
                    username=f"bench{i}",
                    alias=f"C{i}",
                    password=STAFF_PASSWORD,
                    role="counsellor",
                    languages=["sv"],
                    skills=["youth"],
                    capacity=capacity,
                    now=time.time(),
                    server_secret=server_secret,
                )
                issued = await enrolment.issue(
                    session,
                    server_secret=server_secret,
                    staff_id=created.staff_id,
                    now=time.time(),
                    lifetime=3600,
                )
            out.append((f"bench{i}", created.totp_secret, issued.code))
    finally:
        await engine.dispose()
    return out


# ---------------------------------------------------------------------- pairs


@dataclass
class Side:
    """One end of a chat: the socket it sends on and a queue of arrivals for it."""

    ws: ClientConnection
    make: Callable[[], tuple[str, str]]  # () -> (frame text, message id)
    arrivals: asyncio.Queue[tuple[str, float]]


@dataclass
class Pair:
    youth: Side
    counsellor: Side


class Demux:
    """One reader task per socket; delivers each arriving message id to the right side."""

    def __init__(self) -> None:
        self.routes: dict[tuple[int, str], Side] = {}  # (socket id, conv key) -> side
        self.tasks: list[asyncio.Task[None]] = []
        self.other_frames = 0

    def route(self, ws: ClientConnection, key: str, side: Side) -> None:
        self.routes[(id(ws), key)] = side

    def start(
        self, sockets: list[ClientConnection], key_of: Callable[[str], tuple[str, str] | None]
    ) -> None:
        for ws in {id(w): w for w in sockets}.values():
            self.tasks.append(asyncio.create_task(self._read(ws, key_of)))

    async def _read(
        self, ws: ClientConnection, key_of: Callable[[str], tuple[str, str] | None]
    ) -> None:
        try:
            async for raw in ws:
                now = time.perf_counter()
                found = key_of(raw if isinstance(raw, str) else raw.decode())
                if found is None:
                    self.other_frames += 1
                    continue
                key, message_id = found
                self.routes[(id(ws), key)].arrivals.put_nowait((message_id, now))
        except Exception:
            return

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


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


async def l0_pairs(
    base: str, n: int, frame_size: int, demux: Demux
) -> tuple[list[Pair], list[ClientConnection]]:
    ws_url = base.replace("http://", "ws://") + "/"
    pad = "x" * max(0, frame_size - 40)
    pairs, sockets = [], []
    for i in range(n):
        a = await connect(ws_url, compression=None, max_size=2**20)
        b = await connect(ws_url, compression=None, max_size=2**20)
        await a.send(f"p{i}")
        await b.send(f"p{i}")
        counter = iter(range(10**12))

        def make(counter: Iterator[int] = counter) -> tuple[str, str]:
            message_id = str(next(counter))
            return json.dumps({"type": "envelope", "id": message_id, "pad": pad}), message_id

        youth = Side(a, make, asyncio.Queue())
        counsellor = Side(b, make, asyncio.Queue())
        demux.route(a, "pair", youth)
        demux.route(b, "pair", counsellor)
        pairs.append(Pair(youth, counsellor))
        sockets += [a, b]
    return pairs, sockets


async def app_pairs(
    base: str, staff: list[tuple[str, str, str]], n: int, demux: Demux
) -> tuple[list[Pair], list[ClientConnection], list[Any]]:
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
        y = YouthClient(base)
        await y.connect()
        await y.join()
        youths.append(y)
    conv_console: dict[str, CounsellorClient] = {}
    deadline = time.monotonic() + 60
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
            def build() -> tuple[str, str]:
                env = sender.test_envelope()
                frame = json.dumps({"type": "envelope", "envelope": env.as_dict()})
                return frame, f"{env.role}{env.seq}"

            return build

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


async def open_loop(pairs: list[Pair], rate: float, seconds: float) -> list[float]:
    """Youth -> counsellor sends at a fixed total rate, round robin; latency from the schedule."""
    latencies: list[float] = []
    sent_at: dict[tuple[int, str], float] = {}
    interval = 1.0 / rate
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2

    async def collect(index: int, pair: Pair) -> None:
        while True:
            message_id, arrived = await pair.counsellor.arrivals.get()
            scheduled = sent_at.pop((index, message_id), None)
            if scheduled is not None:
                latencies.append(arrived - scheduled)

    collectors = [asyncio.create_task(collect(i, p)) for i, p in enumerate(pairs)]
    for k in range(total):
        scheduled = start + k * interval
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        index = k % len(pairs)
        frame, message_id = pairs[index].youth.make()
        sent_at[(index, message_id)] = scheduled
        await pairs[index].youth.ws.send(frame)
    await asyncio.sleep(1.0)
    for task in collectors:
        task.cancel()
    await asyncio.gather(*collectors, return_exceptions=True)
    lost = len(sent_at)
    if lost:
        print(f"warning: {lost} frames not delivered within 1 s of the run's end", file=sys.stderr)
    return latencies


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _run(coro: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """Run the generator on uvloop when it is installed (as uvicorn does for both servers)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to report server CPU per frame."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure(
    kind: str, base: str, staff: list[tuple[str, str, str]], args: argparse.Namespace, pid: int
) -> dict[str, Any]:
    demux = Demux()
    extra: list[Any] = []
    if kind == "L0":
        pairs, sockets = await l0_pairs(base, args.pairs, args.frame_size, demux)
        key_of = _l0_key
    else:
        pairs, sockets, extra = await app_pairs(base, staff, args.pairs, demux)
        key_of = _app_key
    demux.start(sockets, key_of)
    cpu0, wall0, server0 = time.process_time(), time.perf_counter(), _cpu_seconds(pid)
    try:
        if args.scenario == "p2":
            relayed = await closed_loop(pairs, args.seconds)
            row = {
                "scenario": "P-2",
                "server": kind,
                "pairs": args.pairs,
                "seconds": args.seconds,
                "frames_per_s": round(relayed / args.seconds, 1),
            }
        else:
            latencies = await open_loop(pairs, args.rate, args.seconds)
            row = {
                "scenario": "P-3",
                "server": kind,
                "pairs": args.pairs,
                "rate": args.rate,
                "delivered": len(latencies),
                "p50_ms": round(_pct(latencies, 0.5) * 1000, 2),
                "p99_ms": round(_pct(latencies, 0.99) * 1000, 2),
            }
        # Server CPU per relayed frame: robust to a shared, noisy machine (and P-6's metric).
        frames = row.get("delivered") or row["frames_per_s"] * args.seconds
        row["server_cpu_us_per_frame"] = round((_cpu_seconds(pid) - server0) / frames * 1e6, 1)
        # PERFORMANCE.md: the generator should stay under ~70 % of its core.
        row["generator_cpu"] = round(
            (time.process_time() - cpu0) / (time.perf_counter() - wall0), 2
        )
        return row
    finally:
        await demux.stop()
        for ws in {id(w): w for w in sockets}.values():
            await ws.close()
        for client in extra:
            await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", choices=("p2", "p3"), default="p2")
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=1000.0, help="p3: frames per second")
    parser.add_argument(
        "--frame-size", type=int, default=0, help="L0 frame bytes (0: the app's envelope size)"
    )
    parser.add_argument(
        "--database-url", default=None, help="app database (default: a fresh SQLite file)"
    )
    args = parser.parse_args()
    if args.frame_size == 0:
        sample = Sender(conv="A" * 22, role="Y").test_envelope()
        args.frame_size = len(json.dumps({"type": "envelope", "envelope": sample.as_dict()}))
    if _pin(0):
        os.sched_setaffinity(0, {0})

    counsellors = max(1, args.pairs // 10)
    results: dict[str, list[dict[str, Any]]] = {"L0": [], "app": []}
    for _ in range(args.rounds):
        with l0_server() as (base, pid):
            row = _run(_measure("L0", base, [], args, pid))
        print(json.dumps(row), flush=True)
        results["L0"].append(row)
        with app_server(counsellors, capacity=10, database_url=args.database_url) as (
            base,
            staff,
            pid,
        ):
            row = _run(_measure("app", base, staff, args, pid))
        print(json.dumps(row), flush=True)
        results["app"].append(row)

    print()
    if args.scenario == "p2":
        l0 = statistics.median(r["frames_per_s"] for r in results["L0"])
        app = statistics.median(r["frames_per_s"] for r in results["app"])
        print(
            f"P-2 closed loop, {args.pairs} pairs, {args.frame_size}-byte frames, "
            f"median of {args.rounds}"
        )
        l0_cpu = statistics.median(r["server_cpu_us_per_frame"] for r in results["L0"])
        app_cpu = statistics.median(r["server_cpu_us_per_frame"] for r in results["app"])
        print(f"  L0  {l0:10.0f} frames/s   {l0_cpu:7.1f} server CPU-us/frame")
        print(f"  app {app:10.0f} frames/s   {app_cpu:7.1f} server CPU-us/frame")
        print(
            f"  ratio app/L0: {app / l0:.2f} in frames/s (target >= 0.50), "
            f"{l0_cpu / app_cpu:.2f} in CPU per frame"
        )
    else:
        for kind in ("L0", "app"):
            p50 = statistics.median(r["p50_ms"] for r in results[kind])
            p99 = statistics.median(r["p99_ms"] for r in results[kind])
            print(
                f"P-3 {kind:3} {args.rate:.0f} frames/s over {args.pairs} pairs: "
                f"p50 {p50:.2f} ms  p99 {p99:.2f} ms"
            )
        print("  target (app): p50 <= 5 ms, p99 <= 20 ms")


if __name__ == "__main__":
    main()
