"""NatsBroker (core NATS): queue groups share tasks, no queue broadcasts, bad servers fail fast."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from taskiq.exceptions import BrokerConnectionError, BrokerError
from taskiq_nats import JetStreamBroker, NatsBroker, PullBasedJetStreamBroker


def two_workers(nats_url: str, subject: str, queue: str | None, runs: list[tuple[str, int]]) -> Any:
    brokers = []
    for worker in ("a", "b"):
        broker = NatsBroker(nats_url, subject=subject, queue=queue)

        async def record(n: int, worker: str = worker) -> None:
            runs.append((worker, n))

        broker.register_task(record, task_name="record")
        brokers.append(broker)
    return brokers


async def test_queue_group_runs_each_task_once(
    nats_url: str, names: Any, run_worker: Any, eventually: Any
) -> None:
    runs: list[tuple[str, int]] = []
    subject = names.subject()
    worker_a, worker_b = two_workers(nats_url, subject, f"q_{names.suffix}", runs)
    client = NatsBroker(nats_url, subject=subject)
    task = client.register_task(lambda n: None, task_name="record")
    async with run_worker(worker_a), run_worker(worker_b):
        await client.startup()
        for n in range(20):
            await task.kiq(n)
        await eventually(lambda: len(runs) >= 20)
        await client.shutdown()
        await asyncio.sleep(0.2)
    assert sorted(n for _, n in runs) == list(range(20))


async def test_without_queue_every_worker_gets_every_task(
    nats_url: str, names: Any, run_worker: Any, eventually: Any
) -> None:
    runs: list[tuple[str, int]] = []
    subject = names.subject()
    worker_a, worker_b = two_workers(nats_url, subject, None, runs)
    client = NatsBroker(nats_url, subject=subject)
    task = client.register_task(lambda n: None, task_name="record")
    async with run_worker(worker_a), run_worker(worker_b):
        await client.startup()
        await task.kiq(7)
        await eventually(lambda: len(runs) == 2)
        await client.shutdown()
    assert sorted(runs) == [("a", 7), ("b", 7)]


@pytest.mark.parametrize("kind", [NatsBroker, JetStreamBroker, PullBasedJetStreamBroker])
async def test_unreachable_server_fails_startup_with_a_clear_error(kind: Any) -> None:
    broker = kind("nats://admin:hunter2@127.0.0.1:1", connect_attempts=2, reconnect_time_wait=0.1)
    with pytest.raises(BrokerConnectionError) as caught:
        await broker.startup()
    message = str(caught.value)
    assert "Cannot connect to NATS at nats://***@127.0.0.1:1" in message
    assert "hunter2" not in message
    assert caught.value.__cause__ is not None
    await broker.shutdown()


@pytest.mark.parametrize("kind", [NatsBroker, JetStreamBroker])
async def test_kick_before_startup_says_to_call_startup(kind: Any) -> None:
    broker = kind("nats://127.0.0.1:4222")
    task = broker.register_task(lambda: None, task_name="noop")
    with pytest.raises(BrokerError, match=r"broker\.startup\(\)"):
        await task.kiq()
