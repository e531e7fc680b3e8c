"""What the benchmarks measure with, and how they print: the run's CPUs and pinning, CPU, memory
and open-file readings from ``/proc``, the generator check, JSON lines and tables
(PERFORMANCE.md, "Rules of measurement").

``generator_check`` turns each generator's CPU reading into the ``generator_cpu`` and
``generator_bottleneck`` fields and prints a WARNING when a generator core was above ~70 %: the
figure of such a run measures the generator, not the server.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import sys
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

#: PERFORMANCE.md: keep the generator under ~70 % of its core.
GENERATOR_LIMIT = 0.70

#: The CPUs this run may use, read once (before ``pin_self`` narrows this process's own).
CPUS: frozenset[int] = frozenset(
    os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else {0}
)


def cpus() -> int:
    return len(CPUS)


def server_cpu() -> int | None:
    """The CPU servers are pinned to (the last one), or None on a one-CPU machine."""
    return max(CPUS) if cpus() > 1 else None


def generator_cpu(index: int) -> int | None:
    """The CPU generator ``index`` is pinned to: round robin over every CPU but the server's."""
    server = server_cpu()
    if server is None:
        return None
    others = sorted(CPUS - {server})
    return others[index % len(others)]


def pin_self() -> None:
    """Pin this process (a generator that runs in the main process) as generator 0."""
    core = generator_cpu(0)
    if core is not None:
        os.sched_setaffinity(0, {core})


def pin(cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def raise_nofile(needed: int) -> dict[str, Any]:
    """Raise this process's open-file limit (inherited by the servers it starts) to its hard
    limit; a WARNING when that is still below ``needed``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    except (ValueError, OSError) as exc:
        warn(f"could not raise the open-file limit ({exc}); it stays {soft}")
    if soft < needed:
        warn(f"open-file limit {soft} < {needed} needed: raise the hard limit (ulimit -Hn)")
    return {"nofile": soft, "nofile_enough": soft >= needed}


class CpuMeter:
    """This process's CPU as a fraction of one core over a window."""

    def __init__(self) -> None:
        self.cpu0, self.wall0 = time.process_time(), time.perf_counter()

    def fraction(self) -> float:
        wall = time.perf_counter() - self.wall0
        return round((time.process_time() - self.cpu0) / wall, 3) if wall > 0 else 0.0


def warn(text: str) -> None:
    print(f"WARNING: {text}", file=sys.stderr, flush=True)


def generator_check(readings: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``readings``: one ``{"cpu": core or None, "cpu_fraction": x}`` per generator process.
    Generators sharing a core add up; the check is per core."""
    per_core: dict[str, float] = {}
    for r in readings:
        key = str(r.get("cpu"))
        per_core[key] = per_core.get(key, 0.0) + float(r["cpu_fraction"])
    busiest = max(per_core.values(), default=0.0)
    out = {
        "generators": len(readings),
        "generator_cpu": round(busiest, 2),
        "generator_cpu_per_process": [round(float(r["cpu_fraction"]), 2) for r in readings],
        "generator_bottleneck": busiest > GENERATOR_LIMIT,
    }
    if out["generator_bottleneck"]:
        warn(
            f"a load-generator core was {busiest:.0%} busy (limit {GENERATOR_LIMIT:.0%}): this "
            "figure measures the generator; use more --generators or a bigger machine"
        )
    return out


def run_loop(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run on uvloop when installed (as uvicorn does for the servers)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def emit(row: dict[str, Any]) -> dict[str, Any]:
    print(json.dumps(row), flush=True)
    return row


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(h) for h in header], *[[_cell(v) for v in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for r in cells:
        print(
            "  "
            + "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)
