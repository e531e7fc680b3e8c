"""P-6: the cost of scale-out — two app processes on PostgreSQL + Redis against one.

    python -m bench.scaleout --pairs 200 --rate 1000 --seconds 10 --rounds 3 [--generators 2]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
        [--redis-url redis://127.0.0.1:6379/0]

Each round runs the same open-loop load (P-3's: young person -> counsellor, timed from the
scheduled send) twice, each time on a fresh PostgreSQL database created beside the admin URL's
and the same Redis (a channel prefix of its own per run):

- ``one``: one ``vhouse serve`` process with ``VH_BROKER_URL`` on Redis; both sides on it;
- ``two``: two processes on the same database and Redis; every young person on the first,
  every counsellor on the second, so that each envelope crosses processes through Redis.

Server CPU per delivered frame is the sum over the processes. Prints one JSON line per run and
a table with the added latency and the CPU ratio (targets: <= 1 ms p50 / 5 ms p99 added,
<= 1.5 x the CPU per envelope).
"""

from __future__ import annotations

import argparse
import secrets
import statistics
from contextlib import ExitStack
from typing import Any

from bench import harness, readings, relay


def run(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    with harness.app_database("postgresql", None) as db, ExitStack() as stack:
        planned = relay.app_jobs(args)
        staff = harness.make_staff(db, [c for _, caps in planned for c in caps])
        broker = {
            "VH_BROKER_URL": args.redis_url,
            "VH_BROKER_PREFIX": f"vhbench{secrets.token_hex(4)}:",
        }
        youth_side = stack.enter_context(harness.app_server(db, **broker))
        staff_side = (
            stack.enter_context(harness.app_server(db, **broker)) if kind == "two" else youth_side
        )
        jobs, used = [], 0
        for job, caps in planned:
            jobs.append(
                {**job, "staff": staff[used : used + len(caps)], "youth_base": youth_side.base}
            )
            used += len(caps)
        pids = sorted({youth_side.pid, staff_side.pid})
        return relay.measure(
            kind, args, staff_side.base, pids, jobs, scenario="P-6", processes=len(pids)
        )


def main() -> None:
    p = relay.parser(__doc__)
    p.set_defaults(pairs=200)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--redis-url", default=harness.REDIS_URL)
    p.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL admin URL; each run creates and drops a database beside it",
    )
    args = p.parse_args()
    args.scenario = "p3"
    args.frame_size = args.frame_size or relay.envelope_frame_size()
    if args.database_url:
        harness.PG_ADMIN_URL = args.database_url
    results: dict[str, list[dict[str, Any]]] = {"one": [], "two": []}
    for _ in range(args.rounds):
        for kind in ("one", "two"):
            results[kind].append(run(kind, args))

    def med(kind: str, key: str) -> float:
        return float(statistics.median(r[key] for r in results[kind]))

    rows = [
        (
            k,
            med(k, "p50_ms"),
            med(k, "p99_ms"),
            med(k, "server_cpu_us_per_frame"),
            med(k, "generator_cpu"),
        )
        for k in ("one", "two")
    ]
    readings.table(
        f"P-6 scale-out: {args.rate:.0f} frames/s over {args.pairs} chats, PostgreSQL + Redis, "
        f"median of {args.rounds}",
        ("processes", "p50 ms", "p99 ms", "server CPU-us/frame", "generator core"),
        rows,
    )
    added = (rows[1][1] - rows[0][1], rows[1][2] - rows[0][2])
    cpu = rows[1][3] / rows[0][3] if rows[0][3] else float("nan")
    print(f"  added latency: p50 {added[0]:+.2f} ms, p99 {added[1]:+.2f} ms (target <= 1 / 5 ms)")
    print(f"  CPU per frame, two / one: {cpu:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
