"""PrometheusMiddleware, scraped over real HTTP after running tasks."""

from __future__ import annotations

import asyncio
import datetime
import os
import socket
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from taskiq import InMemoryBroker, PrometheusMiddleware, SimpleRetryMiddleware, TaskiqMessage


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Fetch /metrics and index samples by name and sorted labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def by_task(name: str) -> tuple[tuple[str, str], ...]:
    return (("task_name", name),)


async def test_worker_serves_counts_times_and_in_flight_after_tasks() -> None:
    port = free_port()
    middleware = PrometheusMiddleware(server_addr="127.0.0.1", server_port=port)
    broker = InMemoryBroker().with_middlewares(middleware)
    broker.is_worker_process = True

    @broker.task
    async def ok(x: int) -> int:
        return x

    @broker.task
    async def bad() -> None:
        raise ValueError("boom")

    await broker.startup()
    try:
        for value in range(3):
            await (await ok.kiq(value)).wait_result(timeout=20)
        await (await bad.kiq()).wait_result(timeout=20)
        await broker.wait_all()
        samples = scrape(port)
    finally:
        await broker.shutdown()

    assert samples[("received_tasks_total", by_task(ok.task_name))] == 3
    assert samples[("success_tasks_total", by_task(ok.task_name))] == 3
    assert samples[("saved_results_total", by_task(ok.task_name))] == 3
    assert samples[("received_tasks_total", by_task(bad.task_name))] == 1
    assert samples[("found_errors_total", by_task(bad.task_name))] == 1
    assert ("success_tasks_total", by_task(bad.task_name)) not in samples
    error_labels = (("error_type", "ValueError"), ("task_name", bad.task_name))
    assert samples[("task_errors_by_type_total", error_labels)] == 1
    assert samples[("execution_time_count", by_task(ok.task_name))] == 3
    assert samples[("queue_wait_seconds_count", by_task(ok.task_name))] == 3
    assert samples[("in_flight_tasks", by_task(ok.task_name))] == 0


async def test_in_flight_gauge_counts_a_running_task() -> None:
    port = free_port()
    broker = InMemoryBroker().with_middlewares(
        PrometheusMiddleware(server_addr="127.0.0.1", server_port=port),
    )
    broker.is_worker_process = True
    started, release = asyncio.Event(), asyncio.Event()

    @broker.task
    async def slow() -> None:
        started.set()
        await release.wait()

    await broker.startup()
    try:
        task = await slow.kiq()
        await asyncio.wait_for(started.wait(), 20)
        during = await asyncio.to_thread(scrape, port)
        release.set()
        await task.wait_result(timeout=20)
        after = await asyncio.to_thread(scrape, port)
    finally:
        await broker.shutdown()
    assert during[("in_flight_tasks", by_task(slow.task_name))] == 1
    assert after[("in_flight_tasks", by_task(slow.task_name))] == 0


async def test_retried_task_counts_every_attempt() -> None:
    port = free_port()
    broker = InMemoryBroker().with_middlewares(
        SimpleRetryMiddleware(),
        PrometheusMiddleware(server_addr="127.0.0.1", server_port=port),
    )
    broker.is_worker_process = True

    @broker.task(retry_on_error=True, max_retries=3)
    async def fails() -> None:
        raise ConnectionError

    await broker.startup()
    try:
        await (await fails.kiq()).wait_result(timeout=20)
        await broker.wait_all()
        samples = scrape(port)
    finally:
        await broker.shutdown()
    assert samples[("received_tasks_total", by_task(fails.task_name))] == 3
    assert samples[("found_errors_total", by_task(fails.task_name))] == 3
    assert samples[("saved_results_total", by_task(fails.task_name))] == 1


async def test_client_process_does_not_start_the_exporter() -> None:
    port = free_port()
    broker = InMemoryBroker().with_middlewares(
        PrometheusMiddleware(server_addr="127.0.0.1", server_port=port),
    )
    await broker.startup()
    try:
        with pytest.raises(OSError):
            scrape(port)
    finally:
        await broker.shutdown()


async def test_busy_port_is_logged_and_tasks_still_run(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        broker = InMemoryBroker().with_middlewares(
            PrometheusMiddleware(server_addr="127.0.0.1", server_port=port),
        )
        broker.is_worker_process = True

        @broker.task
        async def ok() -> int:
            return 1

        await broker.startup()
        result = await (await ok.kiq()).wait_result(timeout=20)
        await broker.shutdown()
    assert result.return_value == 1
    assert "Prometheus exporter not started" in caplog.text
    assert "pass metrics_path" in caplog.text


async def test_queue_wait_is_measured_from_the_send_stamp() -> None:
    middleware = PrometheusMiddleware(server_addr="127.0.0.1", server_port=free_port())
    broker = InMemoryBroker().with_middlewares(middleware)

    @broker.task
    async def ok() -> None: ...

    await broker.startup()
    sent = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=30)
    kicker = ok.kicker().with_labels(_taskiq_enqueue_timestamp=sent.isoformat())
    await (await kicker.kiq()).wait_result(timeout=20)  # pre_send restamps: wait is short
    await (await ok.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    wait_sum = middleware.registry.get_sample_value(
        "queue_wait_seconds_sum",
        {"task_name": ok.task_name},
    )
    assert wait_sum is not None
    assert 0 <= wait_sum < 30


async def test_unreadable_send_stamp_is_ignored() -> None:
    middleware = PrometheusMiddleware(server_addr="127.0.0.1", server_port=free_port())
    # A message from a client whose stamp label is garbled.
    message = TaskiqMessage(
        task_id="id",
        task_name="garbled",
        labels={"_taskiq_enqueue_timestamp": "yesterday"},
    )
    assert middleware.pre_execute(message) is message
    labels = {"task_name": "garbled"}
    assert middleware.registry.get_sample_value("queue_wait_seconds_count", labels) in (None, 0)
    assert middleware.registry.get_sample_value("received_tasks_total", labels) == 1


MULTIPROC_CHILD = textwrap.dedent(
    """
    import asyncio
    import sys

    from taskiq import InMemoryBroker, PrometheusMiddleware

    metrics_dir, port, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    broker = InMemoryBroker().with_middlewares(
        PrometheusMiddleware(metrics_path=metrics_dir, server_addr="127.0.0.1", server_port=port),
    )
    broker.is_worker_process = True


    @broker.task(task_name="shared")
    async def shared() -> None:
        return None


    async def main() -> None:
        await broker.startup()
        for _ in range(runs):
            await (await shared.kiq()).wait_result(timeout=20)
        if sys.argv[4] == "serve":
            print("ready", flush=True)
            sys.stdin.readline()
        await broker.shutdown()


    asyncio.run(main())
    """,
)


def test_multiprocess_dir_sums_samples_of_all_worker_processes(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(MULTIPROC_CHILD)
    metrics_dir = tmp_path / "metrics"
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    port = free_port()
    run = [sys.executable, str(script), str(metrics_dir), str(port)]
    subprocess.run([*run, "2", "exit"], env=env, check=True, timeout=60)
    server = subprocess.Popen(
        [*run, "3", "serve"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == "ready"
        samples = scrape(port)
    finally:
        server.communicate("\n", timeout=60)
    assert samples[("received_tasks_total", by_task("shared"))] == 5
    assert samples[("success_tasks_total", by_task("shared"))] == 5
