"""RedisBroker with real worker processes: SIGKILL, long tasks, poison, fairness.

Workers run tests/redis_worker_app.py with a 2 s idle timeout (1 s where said).
"""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from redis_test_helpers import eventually, kicker, marks
from taskiq_redis import RedisBroker

from conftest import Workers

pytestmark = pytest.mark.slow


async def _count(redis_client: Redis, queue: str, kind: str, number: int) -> int:
    return (await marks(redis_client, queue, kind)).get(number, 0)


async def test_sigkilled_worker_loses_nothing(
    client: RedisBroker,
    workers: Workers,
    redis_client: Redis,
    queue_name: str,
) -> None:
    doomed = workers.start()
    await kicker(client).kiq(1, first_run_seconds=60)

    async def started() -> bool:
        return await _count(redis_client, queue_name, "started", 1) == 1

    await eventually(started, what="task started on the first worker")
    doomed.kill()
    doomed.wait()
    workers.start()

    async def done() -> bool:
        return await _count(redis_client, queue_name, "done", 1) == 1

    await eventually(done, timeout=30, what="task redelivered and done after SIGKILL")
    assert await _count(redis_client, queue_name, "started", 1) == 2
    assert await client.dead_letters() == []


async def test_task_longer_than_idle_timeout_runs_once_on_a_live_worker(
    client: RedisBroker,
    workers: Workers,
    redis_client: Redis,
    queue_name: str,
) -> None:
    workers.start(TQ_IDLE_MS="1000")
    await kicker(client).kiq(7, seconds=5)

    async def started() -> bool:
        return await _count(redis_client, queue_name, "started", 7) == 1

    await eventually(started, what="long task started")
    workers.start(TQ_IDLE_MS="1000")  # an idle worker that would happily steal it

    async def done() -> bool:
        return await _count(redis_client, queue_name, "done", 7) == 1

    await eventually(done, timeout=30, what="long task done")
    assert await _count(redis_client, queue_name, "started", 7) == 1, "ran twice"


async def test_poison_message_is_dead_lettered_and_does_not_block_the_queue(
    client: RedisBroker,
    workers: Workers,
    redis_client: Redis,
    queue_name: str,
) -> None:
    await kicker(client, "crash").kiq(13)

    async def dead_lettered() -> bool:
        if all(process.poll() is not None for process in workers.processes):
            workers.start(TQ_MAX_DELIVERIES="2")
        return bool(await client.dead_letters())

    await eventually(dead_lettered, timeout=45, what="poison message dead-lettered")
    letters = await client.dead_letters()
    assert [(letter.task_name, letter.reason) for letter in letters] == [
        ("crash", "failed 2 times"),
    ]
    assert await _count(redis_client, queue_name, "started", 13) == 2
    if all(process.poll() is not None for process in workers.processes):
        workers.start(TQ_MAX_DELIVERIES="2")
    await kicker(client).kiq(14)

    async def other_done() -> bool:
        return await _count(redis_client, queue_name, "done", 14) == 1

    await eventually(other_done, timeout=30, what="the next message done")


async def test_work_is_shared_between_workers(
    client: RedisBroker,
    workers: Workers,
    redis_client: Redis,
    queue_name: str,
) -> None:
    # A worker takes as many tasks as it has room for: with 4 slots each, neither
    # can take all 20 at once, so both must get a fair part of them.
    workers.start(TQ_MAX_ASYNC="4")
    workers.start(TQ_MAX_ASYNC="4")
    for number in range(20):
        await kicker(client).kiq(number, seconds=0.3)

    async def all_done() -> bool:
        return len(await marks(redis_client, queue_name, "done")) == 20

    await eventually(all_done, timeout=40, what="20 tasks done")
    per_worker = await redis_client.hgetall(f"{queue_name}:marks:pids")
    counts = sorted(int(value) for value in per_worker.values())
    assert len(counts) == 2
    assert counts[0] >= 3, f"unfair split between two workers: {counts}"


async def test_listen_reads_only_what_the_receiver_asks_for(
    client: RedisBroker,
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    for number in range(5):
        await kicker(client).kiq(number)
    worker = RedisBroker(redis_url, queue_name=queue_name, xread_count=1, xread_block=200)
    await worker.startup()
    listener = worker.listen()
    first = await asyncio.wait_for(listener.__anext__(), 20)
    pending = await redis_client.xpending(worker.keys.stream(), worker.consumer_group_name)
    assert pending["pending"] == 1, "a worker must not fetch more than it was asked for"
    assert not isinstance(first, bytes)
    await first.ack()
    await listener.aclose()
    await worker.shutdown()
