"""A worker, a client and a scheduler on Redis: see the README's quick start."""

import os

from taskiq import TaskiqScheduler
from taskiq.schedule_sources import LabelScheduleSource
from taskiq_redis import RedisAsyncResultBackend, RedisBroker

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
QUEUE = os.environ.get("QUICKSTART_QUEUE", "quickstart")

broker = RedisBroker(REDIS_URL, queue_name=QUEUE).with_result_backend(
    RedisAsyncResultBackend(REDIS_URL, prefix_str=QUEUE),
)


@broker.task
async def add(a: int, b: int) -> int:
    return a + b


@broker.task(schedule=[{"interval": 2, "args": ["every two seconds"]}])
async def heartbeat(message: str) -> str:
    print(f"heartbeat: {message}", flush=True)
    return message


scheduler = TaskiqScheduler(broker, sources=[LabelScheduleSource(broker)])
