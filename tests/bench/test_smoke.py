"""The benchmark harness's own smoke test (issue 14 §4): each scenario of bench/ runs for about a
second with tiny sizes and must print valid JSON lines with the fields its documentation names.
The figures' values are not checked: speed targets live in the benchmark, never in tests."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from typing import Any
from urllib.parse import urlsplit

import pytest

from bench import harness, readings
from tests.conftest import ROOT, unavailable

GENERATOR = {"generators", "generator_cpu", "generator_cpu_per_process", "generator_bottleneck"}


def bench(module: str, *args: str) -> tuple[list[dict[str, Any]], str]:
    """Run ``python -m bench.<module> args``; its JSON lines and the rest of its output."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert rows, done.stdout
    return rows, done.stdout


def numbers(row: dict[str, Any], *keys: str) -> None:
    for key in keys:
        assert isinstance(row[key], int | float), (key, row)


def only(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (match, rows)
    return found[0]


def test_p2_runs_l0_and_the_app_with_two_generator_processes() -> None:
    generators = 2
    rows, out = bench(
        "relay", "--scenario", "p2", "--pairs", "4", "--seconds", "1", "--rounds", "1",
        "--generators", str(generators),
    )  # fmt: skip
    for kind in ("L0", "app"):
        row = only(rows, scenario="P-2", server=kind)
        assert set(row) >= {"pairs", "frames_per_s", "server_cpu_us_per_frame", *GENERATOR}
        numbers(row, "frames_per_s", "server_cpu_us_per_frame", "generator_cpu")
        assert row["generators"] == generators
        assert len(row["generator_cpu_per_process"]) == generators
        assert row["frames_per_s"] > 0  # something was relayed
    assert "ratio app/L0" in out


def test_p3_reports_latency_beside_l0() -> None:
    rows, _ = bench(
        "relay", "--scenario", "p3", "--pairs", "4", "--rate", "40", "--seconds", "1",
        "--rounds", "1",
    )  # fmt: skip
    for kind in ("L0", "app"):
        row = only(rows, scenario="P-3", server=kind)
        numbers(row, "p50_ms", "p99_ms", "delivered", "lost", "server_cpu_us_per_frame")
        assert set(row) >= GENERATOR


def test_p1_measures_memory_per_idle_connection_beside_l0() -> None:
    rows, out = bench("idle", "--waiting", "20", "--counsellors", "2", "--settle", "0.3")
    for kind in ("L0", "app"):
        row = only(rows, scenario="P-1", server=kind)
        numbers(row, "connections", "rss_before_mib", "rss_after_mib", "kib_per_connection")
        assert row["connections"] == 22
        assert set(row) >= {"nofile", "nofile_enough", *GENERATOR}
    app = only(rows, scenario="P-1", server="app")
    assert (app["waiting"], app["counsellors"], app["placed"]) == (20, 2, 20)
    assert "KiB per connection" in out


def test_p7_restarts_the_server_and_every_socket_resumes() -> None:
    rows, _ = bench("storm", "--connections", "20", "--settle", "0.3", "--timeout", "60")
    row = only(rows, scenario="P-7")
    numbers(row, "resume_p50_s", "resume_p99_s", "stop_s", "restart_s", "steady_rss_mib")
    numbers(row, "peak_rss_mib", "failed_attempts", "error_frames")
    assert (row["connections"], row["resumed"]) == (20, 20)
    assert set(row) >= {"all_resumed_s", "all_resumed_after_ready_s", *GENERATOR}


def test_p9_samples_memory_files_and_tasks() -> None:
    rows, _ = bench(
        "soak", "--pairs", "3", "--minutes", "0.03", "--interval", "0.5",
        "--sample-seconds", "0.5",
    )  # fmt: skip
    samples = [r for r in rows if r.get("sample")]
    assert len(samples) >= 2
    for s in samples:
        numbers(s, "elapsed_s", "rss_mib", "fds", "tasks")  # tasks: vhouse_tasks on /metrics
    row = only(rows, scenario="P-9", server="app")
    for key in ("rss_mib", "fds", "tasks"):
        numbers(row, f"{key}_first", f"{key}_last", f"{key}_slope_per_min")
    numbers(row, "delivered", "lost", "p50_ms", "p99_ms")
    assert row["delivered"] > 0
    assert set(row) >= GENERATOR


def test_p4_pairs_and_fans_out_on_a_real_server() -> None:
    rows, out = bench("pairing", "--scenario", "server", "--waiting", "40", "--rounds", "2")
    told = [r for r in rows if str(r.get("scenario", "")).startswith("server: close")]
    assert len(told) == 2
    for row in told:
        numbers(row, "n", "p50_ms", "p99_ms", "max_ms")
    assert only(rows, rounds_without_assignment=0)["paired_not_told"] == 0
    with_joins = only(rows, scenario="server: close -> both sides told (20.0 joins/s)")
    assert with_joins["double_assignments"] == 0
    assert set(rows[-1]) >= GENERATOR
    assert "p50 ms" in out


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url.replace("+asyncpg", ""))
    try:
        socket.create_connection((parts.hostname, parts.port or default_port), 2).close()
    except OSError:
        return False
    return True


@pytest.mark.postgres
@pytest.mark.redis
def test_p6_compares_two_processes_with_one() -> None:
    if not _reachable(harness.PG_ADMIN_URL, 5432) or not _reachable(harness.REDIS_URL, 6379):
        unavailable("P-6 needs PostgreSQL and Redis")
    rows, out = bench("scaleout", "--pairs", "3", "--rate", "30", "--seconds", "1", "--rounds", "1")
    for kind, processes in (("one", 1), ("two", 2)):
        row = only(rows, scenario="P-6", server=kind)
        assert row["processes"] == processes
        numbers(row, "p50_ms", "p99_ms", "delivered", "server_cpu_us_per_frame")
        assert row["delivered"] > 0
        assert set(row) >= GENERATOR
    assert "two / one" in out


def test_the_generator_check_adds_up_the_generators_sharing_a_core(
    capsys: pytest.CaptureFixture[str],
) -> None:
    apart = readings.generator_check(
        [{"cpu": 0, "cpu_fraction": 0.4}, {"cpu": 1, "cpu_fraction": 0.4}]
    )
    assert (apart["generator_cpu"], apart["generator_bottleneck"]) == (0.4, False)
    assert "WARNING" not in capsys.readouterr().err
    shared = readings.generator_check(
        [{"cpu": 0, "cpu_fraction": 0.4}, {"cpu": 0, "cpu_fraction": 0.4}]
    )
    assert (shared["generator_cpu"], shared["generator_bottleneck"]) == (0.8, True)
    assert "WARNING" in capsys.readouterr().err


def test_shares_split_the_pairs_between_generators() -> None:
    assert harness.shares(10, 3) == [4, 3, 3]
    assert harness.shares(2, 5) == [1, 1]  # never an empty generator
