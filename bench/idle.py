"""P-1: server memory per idle connection, the app beside L0 (PERFORMANCE.md).

    python -m bench.idle --waiting 10000 --counsellors 200 [--burst]

L0 (bench/l0.py) and then the app (``vhouse serve`` on a fresh SQLite file) each get
``waiting + counsellors`` idle sockets: on L0 sockets that never complete a pair; on the app
young people holding waiting tickets (written to the database first and taken up with
``resume``, so the queue fills without that many joins: the app state of a waiting ticket is
there) and counsellors logged in with a registered device, off duty (on duty, they would pair).
The young people come 250 at a time, each batch once the server has placed the one before
(``--burst``: every resume at once, whose transient peak then stays in the RSS).
Pings stay on (the client's and uvicorn's defaults). Memory per connection is the server's RSS
after ``--settle`` seconds of quiet minus its RSS before the first socket, over the sockets.
The open-file limit is raised to its hard limit (inherited by the servers); a WARNING says when
that is not enough. Prints one JSON line per server and a table.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench import harness, readings
from bench.pairing import Youth, _console, _seed, _youth_socket, answered

KIB = 1024


async def _quiet(pid: int, settle: float) -> int:
    await asyncio.sleep(settle)
    return readings.rss_bytes(pid)


def _row(kind: str, before: int, after: int, n: int, extra: dict[str, Any]) -> dict[str, Any]:
    return readings.emit(
        {
            "scenario": "P-1",
            "server": kind,
            "connections": n,
            "rss_before_mib": round(before / KIB / KIB, 1),
            "rss_after_mib": round(after / KIB / KIB, 1),
            "kib_per_connection": round((after - before) / max(1, n) / KIB, 2),
            **extra,
        }
    )


async def l0_idle(
    server: harness.Server, n: int, settle: float, limits: dict[str, Any]
) -> dict[str, Any]:
    before = await _quiet(server.pid, settle)
    meter = readings.CpuMeter()
    sockets: list[ClientConnection] = []
    for start in range(0, n, 250):
        batch = await asyncio.gather(
            *(
                connect(server.ws + "/", compression=None, open_timeout=60)
                for _ in range(min(250, n - start))
            )
        )
        for i, ws in enumerate(batch):
            await ws.send(f"idle{start + i}")  # a pair id nobody else sends
        sockets += batch
    check = readings.generator_check([{"cpu": readings.generator_cpu(0), **_cpu(meter)}])
    after = await _quiet(server.pid, settle)
    for ws in sockets:
        await ws.close()
    return _row("L0", before, after, n, {**check, **limits})


def _cpu(meter: readings.CpuMeter) -> dict[str, float]:
    return {"cpu_fraction": meter.fraction()}


async def app_idle(
    server: harness.Server,
    tokens: list[str],
    staff: list[tuple[str, str, str]],
    settle: float,
    limits: dict[str, Any],
    *,
    burst: bool = False,
) -> dict[str, Any]:
    before = await _quiet(server.pid, settle)
    meter = readings.CpuMeter()
    youths: list[Youth] = []
    readers = []
    for start in range(0, len(tokens), 250):
        batch = await asyncio.gather(
            *(
                _youth_socket(server.base, {"type": "resume", "ticket": t})
                for t in tokens[start : start + 250]
            )
        )
        youths += batch
        readers += [asyncio.create_task(y.read()) for y in batch]
        # Filled at the pace the server answers (each batch placed before the next is sent):
        # this measures memory, not a burst of 10,000 resumes at once (that is P-7's storm).
        if not burst:
            await answered(batch, time.monotonic() + 60)
    consoles: list[Any] = []
    for start in range(0, len(staff), 10):
        consoles += await asyncio.gather(
            *(_console(server.base, u, s, c) for u, s, c in staff[start : start + 10])
        )
    deadline = time.monotonic() + 120
    while any(y.position is None for y in youths) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    check = readings.generator_check([{"cpu": readings.generator_cpu(0), **_cpu(meter)}])
    after = await _quiet(server.pid, settle)
    placed = sum(y.position is not None for y in youths)
    errors = sorted({e for y in youths for e in y.errors})
    row = _row(
        "app",
        before,
        after,
        len(youths) + len(consoles),
        {
            "burst": burst,
            "waiting": len(youths),
            "placed": placed,
            "counsellors": len(consoles),
            **check,
            **limits,
        },
    )
    if errors:
        readings.warn(f"error frames to young people: {errors}")
    for console in consoles:
        await console.close()
    for y in youths:
        await y.ws.close()
    for task in readers:
        task.cancel()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--counsellors", type=int, default=200)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of quiet before RSS")
    parser.add_argument(
        "--burst",
        action="store_true",
        help="send every resume at once instead of 250 at a time as the server answers",
    )
    args = parser.parse_args()
    readings.pin_self()  # the generator; the servers run on the last CPU
    n = args.waiting + args.counsellors
    limits = readings.raise_nofile(n + 256)
    with harness.l0_server() as l0:
        l0_row = readings.run_loop(l0_idle(l0, n, args.settle, limits))
    with harness.app_database() as db:
        tokens = readings.run_loop(_seed(db.url, args.waiting, 0))
        staff = harness.make_staff(db, [2] * args.counsellors)
        with harness.app_server(db) as app:
            app_row = readings.run_loop(
                app_idle(app, tokens, staff, args.settle, limits, burst=args.burst)
            )
    readings.table(
        f"P-1 idle: {args.waiting} waiting + {args.counsellors} counsellors (L0: {n} sockets)",
        ("server", "RSS before MiB", "RSS after MiB", "KiB per connection", "generator core"),
        [
            (
                r["server"],
                r["rss_before_mib"],
                r["rss_after_mib"],
                r["kib_per_connection"],
                r["generator_cpu"],
            )
            for r in (l0_row, app_row)
        ],
    )
    print("  target (app): <= 40 KiB per connection including app state; L0 reference ~15")
    if app_row["placed"] < args.waiting:
        readings.warn(f"only {app_row['placed']} of {args.waiting} young people got a place")


if __name__ == "__main__":
    main()
