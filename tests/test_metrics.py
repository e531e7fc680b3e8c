"""The metrics instruments without a server (app/metrics.py), the error-frame codes the socket
shell counts (app/relay/frames.py), and ``VH_METRICS_BIND`` (app/config.py)."""

from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.config import Settings, parse_bind
from app.events import messages
from app.metrics import Live, Metrics, QueueFigures
from app.relay import consoleframes, frames, transferframes
from app.triage import hours


def _samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


def test_each_metrics_object_counts_in_its_own_registry() -> None:
    first, second = Metrics(), Metrics()  # no DuplicateTimeseries: not the global registry
    first.envelopes_relayed.inc(3)
    first.error("websocket", "bad_json")
    first.paired("youth", latency=0.02, wait=40.0)
    one, other = _samples(first.render(None)), _samples(second.render(None))
    assert one[("vhouse_envelopes_relayed_total", ())] == 3
    assert other[("vhouse_envelopes_relayed_total", ())] == 0
    assert one[("vhouse_errors_total", (("code", "bad_json"), ("transport", "websocket")))] == 1
    assert ("vhouse_errors_total", (("code", "bad_json"), ("transport", "websocket"))) not in other
    bucket = ("vhouse_pairing_latency_seconds_bucket", (("le", "0.025"), ("queue", "youth")))
    assert one[bucket] == 1
    assert one[("vhouse_database_up", ())] == 0
    assert not any(name.startswith("vhouse_queue") for name, _ in one)


def test_the_live_figures_add_up_per_queue() -> None:
    live = Live(
        queues=(
            QueueFigures("youth", "sv", waiting=2, urgent=1, longest_wait=30.0),
            QueueFigures("youth", "other", waiting=1, urgent=1, longest_wait=90.0),
            QueueFigures("professional", "sv", waiting=0, urgent=0, longest_wait=0.0),
        ),
        on_duty={"counsellor": 2, "supervisor": 1, "admin": 0},
        active_chats=4,
    )
    found = _samples(Metrics().render(live))
    assert found[("vhouse_database_up", ())] == 1
    assert found[("vhouse_queue_waiting", (("language", "other"), ("queue", "youth")))] == 1
    assert found[("vhouse_queue_urgent_waiting", (("queue", "youth"),))] == 2
    assert found[("vhouse_queue_longest_wait_seconds", (("queue", "youth"),))] == 90
    assert found[("vhouse_queue_longest_wait_seconds", (("queue", "professional"),))] == 0
    assert found[("vhouse_staff_on_duty", (("role", "counsellor"),))] == 2
    assert found[("vhouse_chats_active", ())] == 4


def test_negative_times_from_a_clock_step_count_as_zero() -> None:
    metrics = Metrics()
    metrics.paired("youth", latency=-3.0, wait=-1.0)
    found = _samples(metrics.render(None))
    assert found[("vhouse_pairing_latency_seconds_sum", (("queue", "youth"),))] == 0


POLICY = hours.EntryPolicy()


@pytest.mark.parametrize(
    "text",
    [
        frames.error("bad_frame", 'a "quoted" message', {"seg": 0, "inst": "x", "seq": 1}),
        frames.not_stored({"seg": 0, "inst": "x", "seq": 1}),
        frames.rate_limited(),
        frames.not_text(),
        frames.too_many_joins(60, POLICY),
        frames.replaced(),
        frames.logged_out(),
        transferframes.transfer_refused("c" * 22, "not_yours", "no"),
    ],
)
def test_every_error_frame_is_recognised_with_its_code(text: str) -> None:
    assert text.startswith(frames.ERROR_PREFIX)
    assert frames.error_code(text) == json.loads(text)["code"]


def test_other_frames_are_not_errors() -> None:
    closed = frames.closed(messages.Closed("c" * 22, "C", "closed"))
    for text in (frames.ended(), consoleframes.duty(True), closed):
        assert not text.startswith(frames.ERROR_PREFIX), text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9100", ("127.0.0.1", 9100)),
        (" localhost:9100 ", ("localhost", 9100)),
        ("[::1]:9100", ("::1", 9100)),
        ("0.0.0.0:1", ("0.0.0.0", 1)),  # noqa: S104 - only parsed
    ],
)
def test_metrics_bind_accepts_host_and_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_bind(text) == expected
    assert Settings(mode="test", metrics_bind=text).metrics_address() == expected


@pytest.mark.parametrize("text", ["9100", "127.0.0.1", "127.0.0.1:0", "host:99999", "::1:9100"])
def test_metrics_bind_refuses_what_is_not_an_address(text: str) -> None:
    with pytest.raises(ValueError, match="9100"):
        Settings(mode="test", metrics_bind=text)


def test_metrics_bind_unset_or_empty_means_no_listener() -> None:
    assert Settings(mode="test").metrics_address() is None
    assert Settings(mode="test", metrics_bind="").metrics_address() is None
