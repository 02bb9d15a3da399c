"""A worker fetches, stores and acknowledges in batches, within the receiver's bounds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis_test_helpers import eventually, next_message
from taskiq import Receiver
from taskiq.message import BrokerMessage
from taskiq.result import TaskiqResult
from taskiq_redis import RedisAsyncResultBackend, RedisBroker


def _count_pipelines(client: Redis) -> list[int]:
    """Count the pipelines ``client`` opens (results are stored through one per batch)."""
    calls: list[int] = []
    original = client.pipeline

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    client.pipeline = counting  # type: ignore[method-assign]
    return calls


def _count_calls(owner: Any, name: str) -> list[int]:
    """Wrap ``owner.name`` so that every call appends its first argument's length."""
    calls: list[int] = []
    original: Callable[..., Awaitable[Any]] = getattr(owner, name)

    async def counting(*args: Any) -> Any:
        sizes = [len(arg) for arg in args if isinstance(arg, list)]
        calls.append(sizes[0] if sizes else 1)
        return await original(*args)

    setattr(owner, name, counting)
    return calls


async def test_a_read_takes_only_what_the_receiver_has_room_for(
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    broker = RedisBroker(redis_url, queue_name=queue_name, xread_block=200)
    started: list[int] = []
    release = asyncio.Event()

    @broker.task(task_name="hold")
    async def hold(number: int) -> int:
        started.append(number)
        await release.wait()
        return number

    await broker.startup()
    for number in range(10):
        await hold.kiq(number)
    receiver = Receiver(broker, max_async_tasks=2, max_prefetch=1)
    finish = asyncio.Event()
    worker = asyncio.create_task(receiver.listen(finish))

    async def two_started() -> bool:
        return len(started) == 2

    await eventually(two_started)
    stream, group = broker.keys.stream(), broker.consumer_group_name
    pending = await redis_client.xpending(stream, group)
    # 2 running + 1 waiting for a slot; the other 7 stay in Redis for any worker.
    assert pending["pending"] == 3
    assert await redis_client.xlen(stream) == 10
    release.set()

    async def drained() -> bool:
        return await redis_client.xlen(stream) == 0

    await eventually(drained)
    finish.set()
    await asyncio.wait_for(worker, 20)
    assert sorted(started) == list(range(10))
    assert broker.delivery_room() is None, "the receiver's bound ends with its listen()"
    await broker.shutdown()


async def test_acks_made_in_one_turn_go_in_one_script_call(
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    broker = RedisBroker(redis_url, queue_name=queue_name, xread_block=200)
    await broker.startup()
    for number in range(20):
        await broker.kick(BrokerMessage(task_id=str(number), task_name="t", message=b"{}"))
    calls = _count_calls(broker.scripts, "ack")
    listener = broker.listen()
    messages = [await next_message(listener) for _ in range(20)]
    await asyncio.gather(*(message.ack() for message in messages))
    assert calls == [20]
    stream = broker.keys.stream()
    assert await redis_client.xlen(stream) == 0
    assert (await redis_client.xpending(stream, broker.consumer_group_name))["pending"] == 0
    await listener.aclose()
    await broker.shutdown()


async def test_results_stored_in_one_turn_go_in_one_pipeline(
    redis_url: str,
    queue_name: str,
) -> None:
    backend: RedisAsyncResultBackend[int] = RedisAsyncResultBackend(
        redis_url, prefix_str=queue_name
    )
    await backend.startup()
    calls = _count_pipelines(backend.redis)
    ids = [f"{queue_name}-{number}" for number in range(30)]
    results = [TaskiqResult(is_err=False, return_value=n, execution_time=0.0) for n in range(30)]
    await asyncio.gather(*map(backend.set_result, ids, results))
    assert len(calls) == 1
    values = [(await backend.get_result(task_id)).return_value for task_id in ids]
    assert values == list(range(30))
    await backend.shutdown()


async def test_a_worker_draining_a_queue_settles_in_batches(
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    """50 queued tasks: far fewer ack calls and result pipelines than tasks, all settled."""
    backend: RedisAsyncResultBackend[int] = RedisAsyncResultBackend(
        redis_url, prefix_str=queue_name
    )
    broker = RedisBroker(redis_url, queue_name=queue_name, xread_block=200)
    broker = broker.with_result_backend(backend)

    @broker.task(task_name="double")
    async def double(number: int) -> int:
        return 2 * number

    await broker.startup()
    handles = [await double.kiq(number) for number in range(50)]
    acks = _count_calls(broker.scripts, "ack")
    stores = _count_pipelines(backend.redis)
    finish = asyncio.Event()
    worker = asyncio.create_task(Receiver(broker, max_async_tasks=100).listen(finish))
    results = [await handle.wait_result(timeout=20) for handle in handles]
    assert [result.return_value for result in results] == [2 * n for n in range(50)]

    async def all_acked() -> bool:
        return sum(acks) == 50

    await eventually(all_acked)
    finish.set()
    await asyncio.wait_for(worker, 20)
    assert len(acks) < 10, acks
    assert len(stores) < 10, stores
    assert await redis_client.xlen(broker.keys.stream()) == 0
    await broker.shutdown()
