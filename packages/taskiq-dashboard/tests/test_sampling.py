"""The throughput chart: finished runs come from the workers' counters, scaled into the box."""

from __future__ import annotations

import datetime

from taskiq.control import QueueDepth, WorkerId, WorkerInfo
from taskiq_dashboard.chart import HEIGHT, chart_of
from taskiq_dashboard.sampling import Point, Snapshot, finished_between

NOW = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=datetime.timezone.utc)


def worker(pid: int, done: int) -> WorkerInfo:
    return WorkerInfo(
        id=WorkerId("host", pid, 0),
        queues=("q",),
        concurrency=2,
        running=(),
        done=done,
        failed=0,
        started=NOW,
        heartbeat=NOW,
        expires_in=3.0,
        version="0.11.0",
    )


def test_finished_runs_count_only_workers_seen_in_both_samples() -> None:
    before = (worker(1, 10), worker(2, 5))
    after = (worker(1, 14), worker(3, 100))  # 2 stopped, 3 is new: neither counts
    assert finished_between(before, after) == 4
    assert finished_between((worker(1, 10),), (worker(1, 2),)) == 0  # a restarted pid


def test_waiting_adds_ready_and_delayed_and_unknown_counts_as_zero() -> None:
    queues = (QueueDepth("a", 3, 2, 7, 1), QueueDepth("b", None, None, None, None))
    assert Snapshot(NOW, queues).waiting == 5


def test_each_series_is_scaled_to_its_own_maximum() -> None:
    points = [Point(NOW, 0, 0.0), Point(NOW, 10, 4.0), Point(NOW, 5, 2.0)]
    chart = chart_of(points)
    assert (chart.max_waiting, chart.max_rate) == (10, 4.0)
    assert chart.waiting == f"0.0,{HEIGHT - 2:.1f} 300.0,2.0 600.0,{HEIGHT / 2:.1f}"
    assert chart.rate == chart.waiting
    assert chart_of([]).waiting == ""
