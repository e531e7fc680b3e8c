"""P-9: a soak — connections chatting for minutes; memory, files and tasks must stay flat.

    python -m bench.soak --pairs 250 --minutes 10 [--interval 5] [--generators 2]

``vhouse serve`` on a fresh SQLite file with its internal metrics listener
(``VH_METRICS_BIND``); ``--pairs`` chats (2 x pairs connections, the counsellors' sockets
carrying up to ten chats each) send real v1-shaped envelopes both ways, each side one every
``--interval`` seconds on average (open loop, bench/relay.py). Every ``--sample-seconds`` the
harness reads the server's RSS and open file descriptors (/proc/PID) and its asyncio task count
(``vhouse_tasks`` on /metrics), one JSON line each. The summary line gives first, last and
least-squares slope per minute of each (after the first sample, the warm-up), the delivery
latency and the server's CPU per frame. A growth trend is a leak.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench import harness, readings, relay

KIB = 1024


async def generator(job: dict[str, Any], ready: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    """One generator process's chats (``harness.Generators``)."""
    demux = relay.Demux()
    pairs, sockets, extra = await relay.app_pairs(job["base"], job["staff"], job["pairs"], demux)
    demux.start(sockets, relay._app_key)
    try:
        await ready()
        meter = readings.CpuMeter()
        latencies, lost = await relay.open_loop(pairs, job["rate"], job["seconds"], both_ways=True)
        return {"latencies": latencies, "lost": lost, "cpu_fraction": meter.fraction()}
    finally:
        await demux.stop()
        for ws in {id(w): w for w in sockets}.values():
            await ws.close()
        for client in extra:
            await client.close()


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute."""
    if len(points) < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / len(points)
    mean_v = sum(v for _, v in points) / len(points)
    var = sum((t - mean_t) ** 2 for t, _ in points)
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return cov / var * 60 if var else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=250)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between sends")
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument("--generators", type=int, default=1, help="load-generator processes")
    args = parser.parse_args()
    seconds = args.minutes * 60
    rate = 2 * args.pairs / args.interval
    readings.raise_nofile(2 * args.pairs + 256)
    with harness.app_database() as db:
        planned = relay.app_jobs(args)
        staff = harness.make_staff(db, [c for _, caps in planned for c in caps])
        jobs, used = [], 0
        for job, caps in planned:
            jobs.append({**job, "staff": staff[used : used + len(caps)], "seconds": seconds})
            used += len(caps)
        for job in jobs:
            job["rate"] = rate * job["pairs"] / args.pairs
        metrics = f"127.0.0.1:{harness.free_port()}"
        with harness.app_server(db, VH_METRICS_BIND=metrics) as app:
            for job in jobs:
                job["base"] = app.base
            samples: list[dict[str, Any]] = []

            def sample_until_done() -> None:
                start = time.monotonic()
                while True:
                    elapsed = time.monotonic() - start
                    samples.append(_sample(app.pid, "http://" + metrics, elapsed))
                    if elapsed >= seconds:
                        return
                    time.sleep(min(args.sample_seconds, seconds - elapsed))

            results, server_cpu = harness.Generators("bench.soak:generator", jobs).run(
                lambda: readings.cpu_seconds(app.pid), during=sample_until_done
            )
    latencies = [x for r in results for x in r["latencies"]]
    row: dict[str, Any] = {
        "scenario": "P-9",
        "server": "app",
        "connections": 2 * args.pairs,
        "minutes": args.minutes,
        "rate": rate,
        "delivered": len(latencies),
        "lost": sum(r["lost"] for r in results),
        "p50_ms": round(relay.pct(latencies, 0.5) * 1000, 2),
        "p99_ms": round(relay.pct(latencies, 0.99) * 1000, 2),
        "server_cpu_us_per_frame": round(server_cpu / max(1, len(latencies)) * 1e6, 1),
        "samples": len(samples),
    }
    trend = samples[1:] if len(samples) > 2 else samples
    for key in ("rss_mib", "fds", "tasks"):
        values = [(s["elapsed_s"], s[key]) for s in trend if s[key] is not None]
        row[f"{key}_first"] = values[0][1] if values else None
        row[f"{key}_last"] = values[-1][1] if values else None
        row[f"{key}_slope_per_min"] = round(slope_per_minute(values), 3)
    row.update(readings.generator_check(results))
    readings.emit(row)
    readings.table(
        f"P-9 soak: {2 * args.pairs} connections, {args.minutes} min, {rate:.0f} frames/s",
        ("measure", "first", "last", "slope per minute"),
        [
            (k, row[f"{k}_first"], row[f"{k}_last"], row[f"{k}_slope_per_min"])
            for k in ("rss_mib", "fds", "tasks")
        ],
    )
    print(f"  delivery p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, lost {row['lost']}")
    print("  target: memory, file descriptors and task count flat (no growth trend)")


def _sample(pid: int, metrics_url: str, elapsed: float) -> dict[str, Any]:
    try:
        tasks = harness.metric(metrics_url, "vhouse_tasks")
    except OSError:
        tasks = None
    return readings.emit(
        {
            "scenario": "P-9",
            "sample": True,
            "elapsed_s": round(elapsed, 1),
            "rss_mib": round(readings.rss_bytes(pid) / KIB / KIB, 2),
            "fds": readings.open_fds(pid),
            "tasks": tasks,
        }
    )


if __name__ == "__main__":
    main()
