"""Real `taskiq worker` processes against the Kafka-API server.

- a round trip, stopped gracefully;
- SIGKILL of one of two workers mid-drain: nothing is lost, and only tasks the
  killed worker had taken (running, or finished behind a running one and so not
  committed) run again, on the survivor, after the group rebalances;
- a second worker joining mid-drain: partitions move without any task running
  twice (the first worker lets revoked tasks finish and commits them);
- one of two workers stopped with SIGTERM mid-drain: it finishes and commits its
  running tasks, the other takes over, no task runs twice.

The group notices a SIGKILLed member after its session timeout (6 s here).
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from taskiq_aio_kafka import AioKafkaBroker, Topic, TopicConfig

HERE = pathlib.Path(__file__).parent
pytestmark = [pytest.mark.slow, pytest.mark.service("kafka"), pytest.mark.timeout(120)]


class Workers:
    """Starts `taskiq worker kafka_app:broker` processes and reads their log."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.log = pathlib.Path(config["log"])
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "KAFKA_TEST_CONFIG": json.dumps(self.config)}
        command = [
            sys.executable,
            "-m",
            "taskiq",
            "worker",
            "kafka_app:broker",
            "--workers",
            "1",
            *extra,
        ]
        process = subprocess.Popen(command, cwd=HERE, env=env, start_new_session=True)
        self.processes.append(process)
        return process

    def lines(self) -> list[tuple[str, str, str]]:
        if not self.log.exists():
            return []
        found = []
        for line in self.log.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3:
                found.append((parts[0], parts[1], parts[2]))
        return found

    def done(self) -> Counter[str]:
        return Counter(label for kind, label, _ in self.lines() if kind == "done")

    def by_pid(self, kind: str) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for seen, label, pid in self.lines():
            if seen == kind:
                found.setdefault(pid, set()).add(label)
        return found

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


@pytest.fixture
async def workers(names: Any, kafka_url: str, tmp_path: pathlib.Path) -> AsyncIterator[Workers]:
    config = {
        "url": kafka_url,
        "topic": names.topic(),
        "group": names.group(),
        "log": str(tmp_path / "tasks.log"),
        "partitions": 4,
    }
    found = Workers(config)
    yield found
    found.stop_all()


async def client(workers: Workers) -> AioKafkaBroker:
    config = workers.config
    broker = AioKafkaBroker(
        bootstrap_servers=config["url"],
        kafka_topic=Topic(config["topic"], TopicConfig(num_partitions=config["partitions"])),
    )
    await broker.startup()
    return broker


async def send(broker: AioKafkaBroker, labels: list[str], seconds: float) -> None:
    for label in labels:
        await broker.find_task("record").kicker().kiq(label, seconds)  # type: ignore[union-attr]


def declare(broker: AioKafkaBroker) -> None:
    @broker.task(task_name="record")
    async def record(label: str, seconds: float = 0.0) -> str:  # pragma: no cover - client side
        return label


async def until(condition: Callable[[], object], timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.1)


async def test_round_trip_under_taskiq_worker(workers: Workers) -> None:
    process = workers.start("--max-async-tasks", "10")
    broker = await client(workers)
    declare(broker)
    labels = [f"t{i}" for i in range(30)]
    try:
        await send(broker, labels, 0.0)
        await until(lambda: set(workers.done()) == set(labels), 60, "all tasks done")
    finally:
        await broker.shutdown()
    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(30) == 0
    assert all(count == 1 for count in workers.done().values())


async def test_sigkill_mid_drain_loses_nothing(workers: Workers) -> None:
    first = workers.start("--max-async-tasks", "4")
    second = workers.start("--max-async-tasks", "4")
    broker = await client(workers)
    declare(broker)
    labels = [f"k{i}" for i in range(60)]
    try:
        await send(broker, labels, 0.3)
        await until(lambda: len(workers.by_pid("start")) >= 2, 60, "both workers running tasks")
        started = workers.by_pid("start")
        victim_pid = max(started, key=lambda pid: len(started[pid]))
        victim = next(p for p in (first, second) if _has_child(p, victim_pid))
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(10)
        await until(lambda: set(workers.done()) == set(labels), 90, "every task done")
    finally:
        await broker.shutdown()
    taken_by_victim = workers.by_pid("start").get(victim_pid, set())
    repeated = {
        label
        for label, count in Counter(
            label for kind, label, _ in workers.lines() if kind == "start"
        ).items()
        if count > 1
    }
    assert repeated <= taken_by_victim


async def test_second_worker_joining_runs_no_task_twice(workers: Workers) -> None:
    workers.start("--max-async-tasks", "2")
    broker = await client(workers)
    declare(broker)
    labels = [f"r{i}" for i in range(60)]  # 15 s of work for one worker: plenty to share
    try:
        await send(broker, labels, 0.5)
        await until(lambda: len(workers.done()) >= 2, 60, "the first worker running")
        workers.start("--max-async-tasks", "2")
        await until(lambda: set(workers.done()) == set(labels), 90, "every task done")
    finally:
        await broker.shutdown()
    assert len(workers.by_pid("done")) == 2, "the second worker took over partitions"
    starts = Counter(label for kind, label, _ in workers.lines() if kind == "start")
    assert max(starts.values()) == 1


async def test_graceful_stop_mid_drain_hands_over_without_repeats(workers: Workers) -> None:
    leaving = workers.start("--max-async-tasks", "3")
    workers.start("--max-async-tasks", "3")
    broker = await client(workers)
    declare(broker)
    labels = [f"s{i}" for i in range(60)]
    try:
        await send(broker, labels, 0.3)
        await until(lambda: len(workers.by_pid("done")) >= 2, 60, "both workers running tasks")
        os.killpg(leaving.pid, signal.SIGTERM)
        assert leaving.wait(60) == 0
        await until(lambda: set(workers.done()) == set(labels), 90, "every task done")
    finally:
        await broker.shutdown()
    starts = Counter(label for kind, label, _ in workers.lines() if kind == "start")
    assert max(starts.values()) == 1, "a graceful stop commits what it finished"


def _has_child(process: subprocess.Popen[bytes], pid: str) -> bool:
    """True if ``pid`` is ``process`` or one of its children (the worker child)."""
    if str(process.pid) == pid:
        return True
    try:
        children = pathlib.Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text()
    except OSError:
        return False
    return pid in children.split()
