"""Programs written from Taskiq's ``taskiq-redis`` README and Taskiq's component pages.

Each test uses the public API the way those documents show it (the same imports,
module paths, classes, keyword names and labels) against the local Redis, with
queue names and key prefixes unique to the test; every key holding that name is
deleted afterwards. Workers run in-process with `taskiq.api.run_receiver_task`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis
from taskiq import AsyncBroker, ScheduledTask, TaskiqResult, TaskiqScheduler
from taskiq.api import run_receiver_task

REDIS_URL = "redis://127.0.0.1:6379"


@pytest.fixture
async def name(require_service: Callable[[str, str, int], None]) -> AsyncIterator[str]:
    """A unique queue name / key prefix; every key containing it is deleted afterwards."""
    require_service("redis", "127.0.0.1", 6379)
    unique = f"tq-compat-{uuid.uuid4().hex[:12]}"
    yield unique
    client = Redis.from_url(REDIS_URL)
    keys = [key async for key in client.scan_iter(match=f"*{unique}*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@contextlib.asynccontextmanager
async def worker(broker: AsyncBroker) -> AsyncIterator[None]:
    """Start ``broker`` as a worker in this loop; stop and shut it down on exit."""
    broker.is_worker_process = True
    await broker.startup()
    running = asyncio.create_task(run_receiver_task(broker))
    try:
        yield
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await broker.shutdown()


async def eventually(condition: Callable[[], bool], what: str, deadline: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not condition():
        if loop.time() > end:
            pytest.fail(f"timed out after {deadline} s waiting for {what}")
        await asyncio.sleep(0.05)


def test_documented_names_and_module_paths_import() -> None:
    import taskiq_redis

    for exported in (
        "PubSubBroker",
        "ListQueueBroker",
        "RedisStreamBroker",
        "ListQueueClusterBroker",
        "RedisStreamClusterBroker",
        "ListQueueSentinelBroker",
        "PubSubSentinelBroker",
        "RedisStreamSentinelBroker",
        "RedisAsyncResultBackend",
        "RedisAsyncClusterResultBackend",
        "RedisAsyncSentinelResultBackend",
        "ListRedisScheduleSource",
        "RedisScheduleSource",
        "RedisClusterScheduleSource",
        "RedisSentinelScheduleSource",
    ):
        assert getattr(taskiq_redis, exported) is not None, exported
    paths = {
        "taskiq_redis.redis_broker": ["ListQueueBroker", "PubSubBroker", "RedisStreamBroker"],
        "taskiq_redis.redis_backend": ["RedisAsyncResultBackend"],
        "taskiq_redis.schedule_source": ["RedisScheduleSource"],
        "taskiq_redis.list_schedule_source": ["ListRedisScheduleSource"],
        "taskiq_redis.redis_cluster_broker": ["ListQueueClusterBroker"],
        "taskiq_redis.redis_sentinel_broker": ["ListQueueSentinelBroker"],
        "taskiq_redis.exceptions": ["DuplicateExpireTimeSelectedError"],
    }
    for module_name, names in paths.items():
        module = importlib.import_module(module_name)
        for attribute in names:
            assert getattr(module, attribute) is getattr(taskiq_redis, attribute), attribute


async def test_readme_stream_program_sends_and_waits_without_startup(name: str) -> None:
    from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

    def make_broker() -> Any:
        result_backend: RedisAsyncResultBackend[Any] = RedisAsyncResultBackend(
            redis_url=REDIS_URL, prefix_str=name
        )
        broker = RedisStreamBroker(url=REDIS_URL, queue_name=name).with_result_backend(
            result_backend
        )

        @broker.task(task_name="best_task_ever")
        async def best_task_ever() -> str:
            return "All problems are solved!"

        return broker

    client = make_broker()
    async with worker(make_broker()):
        # As in the README's main(): no `await broker.startup()` before kiq().
        task = await client.find_task("best_task_ever").kiq()
        result = await task.wait_result(timeout=20)
    with contextlib.suppress(Exception):
        await client.shutdown()
    assert isinstance(result, TaskiqResult)
    assert result.return_value == "All problems are solved!"


async def test_old_readme_module_paths_list_queue_with_result_backend(name: str) -> None:
    from taskiq_redis.redis_backend import RedisAsyncResultBackend
    from taskiq_redis.redis_broker import ListQueueBroker

    redis_async_result: RedisAsyncResultBackend[Any] = RedisAsyncResultBackend(
        redis_url=REDIS_URL, prefix_str=name
    )
    broker = ListQueueBroker(url=REDIS_URL, result_backend=redis_async_result, queue_name=name)

    @broker.task
    async def best_task_ever(value: int) -> int:
        return value * 2

    async with worker(broker):
        task = await best_task_ever.kiq(21)
        result = await task.wait_result(timeout=20)
    assert result.return_value == 42


async def test_pubsub_broker_broadcasts_to_a_subscribed_worker(name: str) -> None:
    from taskiq_redis import PubSubBroker

    broker = PubSubBroker(url=REDIS_URL, queue_name=name)
    ran: list[int] = []

    @broker.task
    async def shout(value: int) -> None:
        ran.append(value)

    async with worker(broker):
        # Pub/sub keeps nothing for a worker not yet subscribed: send until one hears.
        loop = asyncio.get_running_loop()
        end = loop.time() + 20
        while not ran and loop.time() < end:
            await shout.kiq(1)
            await asyncio.sleep(0.2)
    assert ran, "the subscribed worker never ran a broadcast task"
    assert set(ran) == {1}


async def test_readme_dynamic_queue_name_label(name: str) -> None:
    from taskiq_redis import RedisStreamBroker

    low = f"{name}-low_priority"
    ran: list[str] = []

    def make_broker(queue: str) -> Any:
        broker = RedisStreamBroker(url=REDIS_URL, queue_name=queue)

        @broker.task(task_name="low_priority_task", queue_name=low)
        async def low_priority_task() -> None:
            ran.append(queue)

        return broker

    client = make_broker(name)
    await client.startup()
    try:
        await client.find_task("low_priority_task").kiq()
    finally:
        await client.shutdown()
    async with worker(make_broker(low)):
        await eventually(lambda: ran == [low], "the worker of the low_priority queue")


async def test_result_backend_expiry_and_keep_results_options(name: str) -> None:
    from taskiq_redis import (
        DuplicateExpireTimeSelectedError,
        ExpireTimeMustBeMoreThanZeroError,
        RedisAsyncResultBackend,
    )

    with pytest.raises(DuplicateExpireTimeSelectedError):
        RedisAsyncResultBackend(redis_url=REDIS_URL, result_ex_time=1, result_px_time=1000)
    with pytest.raises(ExpireTimeMustBeMoreThanZeroError):
        RedisAsyncResultBackend(redis_url=REDIS_URL, result_ex_time=0)

    client = Redis.from_url(REDIS_URL)
    try:
        expiries: list[tuple[dict[str, Any], str, int]] = [
            ({"result_ex_time": 1000}, "ex", 1000),
            ({"result_px_time": 1000000}, "px", 1000000),
        ]
        for options, kind, limit in expiries:
            backend: Any = RedisAsyncResultBackend(
                redis_url=REDIS_URL, prefix_str=name, timeout=None, **options
            )
            await backend.startup()
            task_id = f"{name}-{kind}"
            await backend.set_result(
                task_id, TaskiqResult(is_err=False, return_value=1, execution_time=0.1)
            )
            keys = [k async for k in client.scan_iter(match=f"*{task_id}*")]
            assert keys, "the result is stored under a key holding the task id"
            for key in keys:
                ttl = await (client.ttl(key) if kind == "ex" else client.pttl(key))
                assert 0 < ttl <= limit, (key, ttl)
            await backend.shutdown()

        backend = RedisAsyncResultBackend(redis_url=REDIS_URL, prefix_str=name, keep_results=False)
        await backend.startup()
        await backend.set_result(
            f"{name}-once", TaskiqResult(is_err=False, return_value=2, execution_time=0.1)
        )
        assert (await backend.get_result(f"{name}-once")).return_value == 2
        assert not await backend.is_result_ready(f"{name}-once")
        await backend.shutdown()
    finally:
        await client.aclose()


def schedule(schedule_id: str) -> ScheduledTask:
    return ScheduledTask(
        task_name="tasks:report",
        labels={},
        args=[1],
        kwargs={},
        schedule_id=schedule_id,
        cron="*/5 * * * *",
    )


async def test_docs_redis_schedule_source_add_get_delete(name: str) -> None:
    from taskiq_redis import ListQueueBroker, RedisScheduleSource

    broker = ListQueueBroker(f"{REDIS_URL}/0", queue_name=name)
    redis_source = RedisScheduleSource(f"{REDIS_URL}/0", prefix=name)
    scheduler = TaskiqScheduler(broker, sources=[redis_source])
    await redis_source.startup()
    try:
        await redis_source.add_schedule(schedule("one"))
        assert [s.schedule_id for s in await redis_source.get_schedules()] == ["one"]
        await redis_source.delete_schedule("one")
        assert await redis_source.get_schedules() == []
    finally:
        await redis_source.shutdown()
    assert scheduler.sources == [redis_source]


async def test_readme_migration_to_list_schedule_source(name: str) -> None:
    from taskiq_redis import ListRedisScheduleSource, RedisStreamBroker
    from taskiq_redis.schedule_source import RedisScheduleSource

    broker = RedisStreamBroker(url=REDIS_URL, queue_name=name)
    old_source = RedisScheduleSource(f"{REDIS_URL}/0", prefix=f"{name}-prefix1")
    await old_source.startup()
    await old_source.add_schedule(schedule("migrated"))
    await old_source.shutdown()

    array_source = ListRedisScheduleSource(
        f"{REDIS_URL}/0", prefix=f"{name}-prefix2"
    ).with_migrate_from(old_source, delete_schedules=True)
    scheduler = TaskiqScheduler(broker, [array_source])
    await array_source.startup()
    try:
        assert [s.schedule_id for s in await array_source.get_schedules()] == ["migrated"]
    finally:
        await array_source.shutdown()
    await old_source.startup()
    try:
        assert await old_source.get_schedules() == [], "delete_schedules=True empties the old one"
    finally:
        await old_source.shutdown()
    assert scheduler.sources == [array_source]


async def test_stream_broker_accepts_every_upstream_keyword(name: str) -> None:
    from taskiq_redis import RedisStreamBroker

    broker = RedisStreamBroker(
        url=REDIS_URL,
        queue_name=name,
        max_connection_pool_size=10,
        consumer_group_name=f"{name}-group",
        consumer_name=f"{name}-consumer",
        consumer_id="$",
        mkstream=True,
        xread_block=500,
        maxlen=1000,
        approximate=True,
        idle_timeout=600000,
        unacknowledged_batch_size=100,
        unacknowledged_lock_timeout=None,
        xread_count=100,
        reclaim_interval=30000,
        reclaim_timeout_grace=10000,
    )
    ran: list[int] = []

    @broker.task
    async def job(value: int) -> None:
        ran.append(value)

    async with worker(broker):
        await job.kiq(7)
        await eventually(lambda: ran == [7], "the task on the configured stream")


@pytest.mark.slow
async def test_cluster_schedule_source_add_get_delete(redis_cluster_url: str) -> None:
    from taskiq_redis import RedisClusterScheduleSource

    prefix = f"compat-{uuid.uuid4().hex[:8]}"
    source = RedisClusterScheduleSource(redis_cluster_url, prefix=prefix)
    await source.startup()
    try:
        await source.add_schedule(schedule("on-cluster"))
        assert [s.schedule_id for s in await source.get_schedules()] == ["on-cluster"]
        await source.delete_schedule("on-cluster")
        assert await source.get_schedules() == []
    finally:
        await source.shutdown()


@pytest.mark.slow
async def test_sentinel_schedule_source_add_get_delete(redis_sentinel: tuple[int, str]) -> None:
    from taskiq_redis import RedisSentinelScheduleSource

    port, master = redis_sentinel
    prefix = f"compat-{uuid.uuid4().hex[:8]}"
    source = RedisSentinelScheduleSource([("127.0.0.1", port)], master, prefix=prefix)
    await source.startup()
    try:
        await source.add_schedule(schedule("via-sentinel"))
        assert [s.schedule_id for s in await source.get_schedules()] == ["via-sentinel"]
        await source.delete_schedule("via-sentinel")
        assert await source.get_schedules() == []
    finally:
        await source.shutdown()


async def test_list_schedule_source_accepts_populate_time_index(name: str) -> None:
    from taskiq_redis import ListRedisScheduleSource

    source = ListRedisScheduleSource(f"{REDIS_URL}/0", prefix=name, populate_time_index=True)
    await source.startup()
    try:
        await source.add_schedule(schedule("indexed"))
        assert [s.schedule_id for s in await source.get_schedules()] == ["indexed"]
    finally:
        await source.shutdown()
