"""The app the dashboard tests serve and run workers of: Redis, names from the environment."""

from __future__ import annotations

import asyncio
import os

from redis.asyncio import Redis
from taskiq import Context, TaskiqDepends
from taskiq_redis import RedisAsyncResultBackend, RedisBroker

URL = os.environ.get("DASH_REDIS", "redis://127.0.0.1:6379/0")
QUEUE = os.environ.get("DASH_QUEUE", "tq-dashboard")

broker = RedisBroker(URL, queue_name=QUEUE, xread_block=200).with_result_backend(
    RedisAsyncResultBackend(URL, prefix_str=QUEUE, result_ex_time=600),
)


@broker.task(task_name="dash:sleep")
async def sleep(seconds: float) -> float:
    """Take a while, so the overview sees the queue and the running task."""
    await asyncio.sleep(seconds)
    return seconds


@broker.task(task_name="dash:fail")
async def fail(text: str) -> None:
    """Fail with ``text`` in the error (the tests put markup in it)."""
    raise ValueError(text)


@broker.task(task_name="dash:poison")
async def poison(context: Context = TaskiqDepends()) -> str:
    """Dead-letter itself until the key ``<queue>:healed`` exists."""
    async with Redis.from_url(URL) as redis:
        if not await redis.exists(QUEUE + ":healed"):
            context.reject()
        await redis.incr(QUEUE + ":done")
    return "healed"
