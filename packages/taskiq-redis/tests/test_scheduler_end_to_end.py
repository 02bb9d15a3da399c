"""A schedule added at run time is sent by the real scheduler loop and reaches the worker side."""

from __future__ import annotations

import asyncio
import contextlib
import datetime

import pytest
from redis_test_helpers import eventually, next_message
from taskiq.api.scheduler import run_scheduler_task
from taskiq.scheduler.scheduler import TaskiqScheduler
from taskiq_redis import ListRedisScheduleSource, RedisBroker, RedisScheduleSource


@pytest.mark.parametrize("source_class", [RedisScheduleSource, ListRedisScheduleSource])
async def test_time_and_interval_schedules_fire_through_redis(
    source_class: type[RedisScheduleSource | ListRedisScheduleSource],
    redis_url: str,
    queue_name: str,
) -> None:
    broker = RedisBroker(redis_url, queue_name=queue_name, xread_block=200)

    @broker.task(task_name="tick")
    async def tick(label: str) -> str:
        return label

    source = source_class(redis_url, prefix=queue_name)
    await broker.startup()
    await source.startup()
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
    once = await tick.schedule_by_time(source, soon, "once")
    await tick.schedule_by_interval(source, 1, "every second")
    scheduler = TaskiqScheduler(broker, [source])
    running = asyncio.create_task(run_scheduler_task(scheduler, interval=0.5))
    listener = broker.listen()
    seen: list[str] = []
    try:
        while not ("once" in seen and seen.count("every second") >= 2):
            message = await next_message(listener, timeout=20)
            seen.append(broker.formatter.loads(bytes(message.data)).args[0])
            await message.ack()

        async def one_off_removed() -> bool:
            ids = {s.schedule_id for s in await source.get_schedules()}
            return once.schedule_id not in ids

        await eventually(one_off_removed, what="the fired one-off schedule deleted")
        assert seen.count("once") == 1
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await listener.aclose()
        await source.shutdown()
        await broker.shutdown()
