"""The app `taskiq worker` serves in the worker tests, configured from the environment.

TQ_TRANSPORT (``redis`` or ``rabbitmq``) and TQ_PREFIX (queue, exchange and key
prefix of this test). Results, and so fan-in sets, are in Redis for both
transports. The tests build their client with `build` and the same values.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass
from typing import Any

from pipeline_tasks import Tasks, register
from redis.asyncio import Redis
from taskiq.abc.broker import AsyncBroker
from taskiq.decor import AsyncTaskiqDecoratedTask
from taskiq_pipelines import PipelineMiddleware
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

REDIS_URL = "redis://127.0.0.1:6379/0"
RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass
class App:
    """One test's broker and tasks."""

    broker: AsyncBroker
    tasks: Tasks
    die_once: AsyncTaskiqDecoratedTask[..., Any]
    count_runs: AsyncTaskiqDecoratedTask[..., Any]
    store_failure: AsyncTaskiqDecoratedTask[..., Any]


def _transport(transport: str, prefix: str) -> AsyncBroker:
    if transport == "rabbitmq":
        from taskiq_aio_pika import AioPikaBroker

        return AioPikaBroker(RABBIT_URL, queue_name=prefix, exchange_name=prefix, qos=100)
    return RedisStreamBroker(REDIS_URL, queue_name=prefix, idle_timeout=1500, xread_block=500)


def build(transport: str, prefix: str) -> App:
    """The broker (with the middleware and a Redis result backend) and the test tasks."""
    backend = RedisAsyncResultBackend(REDIS_URL, prefix_str=prefix, result_ex_time=600)
    broker = _transport(transport, prefix).with_result_backend(backend)
    broker.add_middlewares(PipelineMiddleware())

    @broker.task(task_name="pipe_die_once")
    async def die_once(value: int, victim: int = 0) -> int:
        """Member ``victim`` SIGKILLs its worker on its first run; redelivered, it succeeds."""
        if value == victim:
            async with Redis.from_url(REDIS_URL) as redis:
                if await redis.set(f"{prefix}:killed", "1", nx=True, ex=600):
                    os.kill(os.getpid(), signal.SIGKILL)
        return value * 2

    @broker.task(task_name="pipe_count_runs")
    async def count_runs(values: list[int]) -> int:
        """A fan-in's callback: counts its own runs, so a test sees it ran once."""
        async with Redis.from_url(REDIS_URL) as redis:
            await redis.incr(f"{prefix}:callback_runs")
        return sum(values)

    @broker.task(task_name="pipe_store_failure")
    async def store_failure(failure: dict[str, Any]) -> None:
        """An on_error task: keeps what it was told in Redis."""
        async with Redis.from_url(REDIS_URL) as redis:
            await redis.rpush(f"{prefix}:failures", json.dumps(failure))

    return App(broker, register(broker), die_once, count_runs, store_failure)


app = build(os.environ.get("TQ_TRANSPORT", "redis"), os.environ.get("TQ_PREFIX", "tq-pipe"))
broker = app.broker
