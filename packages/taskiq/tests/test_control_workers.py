"""Live workers in the core: the contract on the in-memory backend, the heartbeat, errors."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from taskiq import DummyResultBackend, InMemoryBroker, NotSupportedError, workers_of
from taskiq.cli.worker.args import WorkerArgs
from taskiq.cli.worker.heartbeat import Heartbeat, queues_of
from taskiq.control.workers import DEFAULT_HEARTBEAT_INTERVAL, WorkerInfo
from taskiq.testing.worker_registry_contract import WorkerRegistryContract, eventually, record


class TestInmemoryWorkers(WorkerRegistryContract):
    @pytest.fixture
    async def broker(self) -> AsyncIterator[InMemoryBroker]:
        broker = InMemoryBroker()
        await broker.startup()
        yield broker
        await broker.shutdown()


def test_a_record_survives_its_json_form() -> None:
    written = record("json-host", done=3)
    assert WorkerInfo.from_json(written.to_json()) == written


def test_a_backend_without_heartbeats_says_so() -> None:
    broker = InMemoryBroker().with_result_backend(DummyResultBackend())
    with pytest.raises(
        NotSupportedError, match="Live workers are not supported by DummyResultBackend"
    ):
        workers_of(broker)


def test_the_heartbeat_flags_parse() -> None:
    default = WorkerArgs.from_cli(["app:broker"])
    assert default.heartbeat_interval == DEFAULT_HEARTBEAT_INTERVAL
    assert default.health_port is None
    assert default.health_host == "127.0.0.1"
    args = WorkerArgs.from_cli(
        [
            "app:broker",
            "--heartbeat-interval",
            "0.5",
            "--health-port",
            "8080",
            "--health-host",
            "0.0.0.0",
        ]
    )
    assert (args.heartbeat_interval, args.health_port, args.health_host) == (0.5, 8080, "0.0.0.0")


async def test_the_heartbeat_shows_running_tasks_and_counts_and_leaves_at_stop() -> None:
    broker = InMemoryBroker()
    release = asyncio.Event()

    @broker.task(task_name="hb:slow")
    async def slow() -> None:
        await release.wait()

    @broker.task(task_name="hb:boom")
    async def boom() -> None:
        raise ValueError("boom")

    await broker.startup()
    registry = workers_of(broker)
    args = WorkerArgs(broker="app:broker", heartbeat_interval=0.05, max_async_tasks=7)
    beat = Heartbeat.start(broker, args, slot=3)
    try:
        await (await boom.kiq()).wait_result(timeout=10)
        task = await slow.kiq()

        async def running() -> bool:
            listed = await registry.list()
            return bool(listed) and [t.task_id for t in listed[0].running] == [task.task_id]

        await eventually(running)
        (info,) = await registry.list()
        assert (info.id.index, info.concurrency, info.queues) == (3, 7, ())
        assert info.running[0].task_name == "hb:slow"
        assert info.done >= 1
        assert info.failed >= 1
        assert info.expires_in == pytest.approx(0.15)
        release.set()
        await task.wait_result(timeout=10)
    finally:
        await beat.stop()
    assert await registry.list() == []
    await broker.shutdown()


def test_queues_come_from_the_usual_broker_attributes() -> None:
    class Named:
        queue_name = "jobs"

    class Many:
        queues = {"a": 1, "b": 2}

    assert queues_of(Named()) == ("jobs",)  # type: ignore[arg-type]
    assert queues_of(Many()) == ("a", "b")  # type: ignore[arg-type]
    assert queues_of(InMemoryBroker()) == ()


def test_taskiq_workers_exits_2_when_the_backend_cannot(tmp_path: Path) -> None:
    (tmp_path / "dummy_app.py").write_text(
        textwrap.dedent(
            """
            from taskiq import DummyResultBackend, InMemoryBroker
            broker = InMemoryBroker().with_result_backend(DummyResultBackend())
            """
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "taskiq",
            "workers",
            "dummy_app:broker",
            "--app-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], "one line, no traceback"
    assert "Live workers are not supported by DummyResultBackend" in result.stderr
