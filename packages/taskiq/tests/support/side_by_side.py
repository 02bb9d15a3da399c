"""Two apps on one server, told apart only by their queue names (one per broker kind).

``build(kind, app)`` makes app ``one`` or ``two`` on Redis, RabbitMQ or NATS,
with the broker's default settings except the queue name
(``<prefix>_<app>``, the prefix from ``TASKIQ_TEST_PREFIX``). Each app has
the task ``whoami`` (the same name in both apps: a task run by the wrong app
returns the wrong answer) and ``<app>.who`` (unknown to the other app: the
wrong app would log "Dropped a delivery: No task named ...").
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from taskiq import AsyncBroker

REDIS_URL = "redis://127.0.0.1:6379/0"
RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672/"
NATS_URL = "nats://127.0.0.1:4222"
KINDS = ("redis", "rabbitmq", "nats")


def queue_of(prefix: str, app: str) -> str:
    """The queue name of ``app``: valid for every broker (no dots, colons or spaces)."""
    return f"{prefix}_{app}"


def build(kind: str, app: str, prefix: str | None = None) -> AsyncBroker:
    """App ``app`` on ``kind``, as its worker and its client both use it."""
    prefix = prefix or os.environ["TASKIQ_TEST_PREFIX"]
    broker = _broker(kind, queue_of(prefix, app), prefix)

    @broker.task(task_name="whoami")
    async def whoami(number: int) -> str:
        return f"{app}:{number}"

    @broker.task(task_name=f"{app}.who")
    async def who(number: int) -> str:
        return f"{app}.who:{number}"

    return broker


def _broker(kind: str, queue: str, prefix: str) -> AsyncBroker:
    from taskiq_redis import RedisAsyncResultBackend

    results = RedisAsyncResultBackend(REDIS_URL, prefix_str=prefix)
    if kind == "redis":
        from taskiq_redis import RedisStreamBroker

        return RedisStreamBroker(REDIS_URL, queue_name=queue).with_result_backend(results)
    if kind == "rabbitmq":
        from taskiq_aio_pika import AioPikaBroker

        return AioPikaBroker(RABBIT_URL, queue_name=queue).with_result_backend(results)
    from taskiq_nats import JetStreamBroker, NATSKeyValueResultBackend

    nats_results: Any = NATSKeyValueResultBackend(NATS_URL, bucket_name=f"{prefix}_results")
    return JetStreamBroker(NATS_URL, queue=queue).with_result_backend(nats_results)


async def clean_up(kind: str, prefix: str) -> None:
    """Delete what both apps left on the server: keys, queues, streams, buckets."""
    from redis.asyncio import Redis

    redis = Redis.from_url(REDIS_URL)
    keys = [key async for key in redis.scan_iter(f"*{prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()
    queues = [queue_of(prefix, app) for app in ("one", "two")]
    if kind == "rabbitmq":
        await _delete_rabbit_queues(queues)
    elif kind == "nats":
        await _delete_nats(queues, f"{prefix}_results")


async def _delete_rabbit_queues(queues: list[str]) -> None:
    import aio_pika

    connection = await aio_pika.connect(RABBIT_URL)
    try:
        for queue in queues:
            for name in (queue, f"{queue}.dead_letter", f"{queue}.delay"):
                channel = await connection.channel()
                with contextlib.suppress(Exception):
                    await channel.queue_delete(name)
                with contextlib.suppress(Exception):
                    await channel.close()
    finally:
        await connection.close()


async def _delete_nats(queues: list[str], bucket: str) -> None:
    import nats
    from nats.js.errors import NotFoundError

    client = await nats.connect(NATS_URL)
    js = client.jetstream()
    for queue in queues:
        for stream in (f"taskiq_jetstream_{queue}", f"taskiq_jetstream_{queue}_dead_letters"):
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(stream)
    with contextlib.suppress(NotFoundError):
        await js.delete_key_value(bucket)
    await client.close()
