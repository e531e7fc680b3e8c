"""P-7: a reconnect storm — the server restarts under live connections (PERFORMANCE.md).

    python -m bench.storm --connections 2000

``vhouse serve`` on a fresh SQLite file holds ``--connections`` young people with waiting
tickets (written to the database first and taken up with ``resume``). Once every one has its
place, the server is stopped (SIGTERM, as an operator's restart does) and started again on the
same port and database. Every socket reconnects on its own — after a random 0 to 0.5 s, then
retrying with doubling back-off up to 2 s — and sends ``resume`` with its ticket; it counts as
resumed when the server answers (``resumed``, or its place or pairing). Reported: the time
from the stop to each resume (p50, p99, the last), how many resumed within 30 s and within
``--timeout``, error frames, failed attempts, and the new server's peak RSS against the old
one's steady RSS (sampled every 0.1 s from the new process's start). Prints JSON lines and a table.

Not covered yet: chats with envelopes in flight across the restart (P-7's "no acknowledged
envelope lost or duplicated" is tested by tests/chat and the multi-process test, not here).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import threading
import time
from typing import Any

from websockets.asyncio.client import connect

from bench import harness, readings
from bench.pairing import _seed

KIB = 1024
#: The frames that show a socket resumed: the server's answer to ``resume``, a place, a pairing.
RESUMED = ('{"type":"resumed"', '{"type":"position"', '{"type":"paired"')


class Reconnecting:
    """One young person who reconnects and resumes whenever the socket drops."""

    def __init__(self, ws_url: str, origin: str, ticket: str) -> None:
        self.url, self.origin, self.ticket = ws_url, origin, ticket
        #: When the server first answered this client's latest resume (a later place or
        #: refresh on the same connection does not move it).
        self.resumed_at: float | None = None
        self.failed_attempts = 0
        self.errors: list[str] = []
        self.connections = 0

    async def run(self, rng: random.Random) -> None:
        delay = 0.0
        while True:
            await asyncio.sleep(delay)
            try:
                async with connect(
                    self.url,
                    origin=self.origin,  # type: ignore[arg-type]
                    compression=None,
                    open_timeout=30,
                    ping_interval=None,
                ) as ws:
                    self.connections += 1
                    await ws.send(json.dumps({"type": "resume", "ticket": self.ticket}))
                    delay = 0.0
                    answered = False
                    async for raw in ws:
                        text = raw if isinstance(raw, str) else raw.decode()
                        if not answered and text.startswith(RESUMED):
                            answered = True
                            self.resumed_at = time.perf_counter()
                        elif text.startswith('{"type":"error"'):
                            self.errors.append(json.loads(text)["code"])
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failed_attempts += 1
                delay = min(2.0, max(0.05, delay * 2))
                continue
            # Closed by the server (its restart): come back after a random pause.
            delay = rng.uniform(0, 0.5)


def _sampler(pid_of: list[int], peaks: list[int], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            peaks.append(readings.rss_bytes(pid_of[0]))
        except (OSError, RuntimeError):
            pass  # between the old process and the new
        stop.wait(0.1)


async def storm(
    db: harness.AppDatabase, tokens: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    port = harness.free_port()
    server = harness.start_app(db, port=port)
    base = server.base
    clients = [Reconnecting(server.ws + "/ws/youth", base, t) for t in tokens]
    rng = random.Random(7)
    meter = readings.CpuMeter()
    tasks = [asyncio.create_task(c.run(rng)) for c in clients]
    new: harness.Server | None = None
    try:
        deadline = time.monotonic() + 120
        while any(c.resumed_at is None for c in clients) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(args.settle)
        steady = readings.rss_bytes(server.pid)
        pid_of, peaks, stop_sampling = [server.pid], list[int](), threading.Event()
        sampler = threading.Thread(target=_sampler, args=(pid_of, peaks, stop_sampling))
        t0 = time.perf_counter()
        await asyncio.to_thread(harness.stop, server)
        stopped_s = time.perf_counter() - t0
        peaks.clear()

        def spawned(pid: int) -> None:
            pid_of[0] = pid
            sampler.start()

        new = await asyncio.to_thread(harness.start_app, db, port, spawned)
        started_s = time.perf_counter() - t0
        limit = time.monotonic() + args.timeout
        while time.monotonic() < limit:
            if all(c.resumed_at is not None and c.resumed_at > t0 for c in clients):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(args.settle)
        stop_sampling.set()
        sampler.join()
        after = readings.rss_bytes(new.pid)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        harness.stop(new or server)
    times = sorted(c.resumed_at - t0 for c in clients if c.resumed_at and c.resumed_at > t0)
    errors = sorted({e for c in clients for e in c.errors})
    return readings.emit(
        {
            "scenario": "P-7",
            "server": "app",
            "connections": len(clients),
            "resumed": len(times),
            "resumed_within_30s": sum(1 for t in times if t <= 30),
            "stop_s": round(stopped_s, 2),
            "restart_s": round(started_s, 2),
            "resume_p50_s": round(_pct(times, 0.5), 3),
            "resume_p99_s": round(_pct(times, 0.99), 3),
            "all_resumed_s": round(times[-1], 3) if len(times) == len(clients) else None,
            # The same from the moment the new process answered /healthz.
            "all_resumed_after_ready_s": (
                round(times[-1] - started_s, 3) if len(times) == len(clients) else None
            ),
            "error_frames": sum(len(c.errors) for c in clients),
            "error_codes": errors,
            "failed_attempts": sum(c.failed_attempts for c in clients),
            "steady_rss_mib": round(steady / KIB / KIB, 1),
            "peak_rss_mib": round(max(peaks, default=0) / KIB / KIB, 1),
            "after_rss_mib": round(after / KIB / KIB, 1),
            **readings.generator_check(
                [{"cpu": readings.generator_cpu(0), "cpu_fraction": meter.fraction()}]
            ),
        }
    )


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=120.0, help="give up after seconds")
    parser.add_argument("--settle", type=float, default=2.0, help="quiet seconds around it")
    args = parser.parse_args()
    readings.pin_self()  # the generator; the servers run on the last CPU
    readings.raise_nofile(args.connections + 256)
    with harness.app_database() as db:
        tokens = readings.run_loop(_seed(db.url, args.connections, 0))
        row = readings.run_loop(storm(db, tokens, args))
    peak_ratio = row["peak_rss_mib"] / row["steady_rss_mib"] if row["steady_rss_mib"] else 0
    readings.table(
        f"P-7 reconnect storm: restart under {args.connections} waiting young people",
        ("resumed", "within 30 s", "p50 s", "p99 s", "all s", "errors", "peak/steady RSS"),
        [
            (
                f"{row['resumed']}/{row['connections']}",
                row["resumed_within_30s"],
                row["resume_p50_s"],
                row["resume_p99_s"],
                row["all_resumed_s"],
                row["error_frames"],
                round(peak_ratio, 2),
            )
        ],
    )
    print("  target: 99 % resumed within 30 s; peak memory <= 1.5 x steady state")


if __name__ == "__main__":
    main()
