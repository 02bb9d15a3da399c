"""``taskiq.api.run_receiver_task``: a worker inside the caller's event loop."""

from __future__ import annotations

import asyncio
import inspect
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis
from taskiq.api import run_receiver_task
from taskiq.receiver import Receiver

sys.path.insert(0, str(Path(__file__).parent / "support"))
from redis_list_broker import REDIS_URL, RedisListBroker
from worker_harness import eventually


@pytest.fixture
async def broker(
    require_service: Callable[[str, str, int], None],
) -> AsyncIterator[RedisListBroker]:
    require_service("redis", "127.0.0.1", 6379)
    broker = RedisListBroker(queue=f"taskiq-api-test:{uuid.uuid4().hex}")
    await broker.startup()
    yield broker
    assert broker.redis is not None
    await broker.redis.delete(broker.queue)
    await broker.shutdown()


def test_signature_matches_taskiq() -> None:
    parameters = inspect.signature(run_receiver_task).parameters
    assert list(parameters) == [
        "broker",
        "receiver_cls",
        "sync_workers",
        "validate_params",
        "max_async_tasks",
        "max_prefetch",
        "propagate_exceptions",
        "run_startup",
        "ack_time",
        "use_process_pool",
        "max_process_pool_processes",
    ]
    assert parameters["receiver_cls"].default is Receiver
    assert parameters["max_async_tasks"].default == 100


async def test_runs_tasks_until_cancelled_and_finishes_the_running_one(
    broker: RedisListBroker,
) -> None:
    seen: list[str] = []
    started = asyncio.Event()
    release = asyncio.Event()

    @broker.task
    async def remember(value: str) -> None:
        seen.append(value)

    @broker.task
    async def slow() -> None:
        started.set()
        await release.wait()
        seen.append("slow finished")

    worker = asyncio.create_task(run_receiver_task(broker))
    await remember.kiq("one")
    await eventually(lambda: _async(seen == ["one"] or None))
    await slow.kiq()
    await asyncio.wait_for(started.wait(), 20)
    worker.cancel()
    await asyncio.sleep(0)  # let the cancellation reach run_receiver_task
    await remember.kiq("after-cancel")
    assert not worker.done()  # still finishing "slow"
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(worker, 20)
    assert seen == ["one", "slow finished"]
    assert broker.redis is not None
    assert await broker.redis.llen(broker.queue) == 1  # "after-cancel" was never fetched


async def test_sync_tasks_use_the_sync_workers_thread_pool(broker: RedisListBroker) -> None:
    threads: list[str] = []

    @broker.task
    def where() -> None:
        threads.append(threading.current_thread().name)

    worker = asyncio.create_task(run_receiver_task(broker, sync_workers=1))
    await where.kiq()
    await eventually(lambda: _async(threads or None))
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(worker, 20)
    assert threads[0].startswith("taskiq-sync")


async def test_run_startup_lets_the_receiver_start_the_broker(
    require_service: Callable[[str, str, int], None],
) -> None:
    require_service("redis", "127.0.0.1", 6379)
    broker = RedisListBroker(queue=f"taskiq-api-test:{uuid.uuid4().hex}")
    ran = asyncio.Event()

    @broker.task
    async def ping() -> None:
        ran.set()

    worker = asyncio.create_task(run_receiver_task(broker, run_startup=True))
    client = Redis.from_url(REDIS_URL)
    await eventually(lambda: _async(broker.redis is not None or None))
    await ping.kiq()
    await asyncio.wait_for(ran.wait(), 20)
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(worker, 20)
    await broker.shutdown()
    await client.delete(broker.queue)
    await client.aclose()


async def _async(value: object) -> object:
    return value
