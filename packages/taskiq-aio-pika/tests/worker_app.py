"""A tiny worker process for the tests: ``python worker_app.py '<json config>'``.

Tasks record what they do in a Redis list so the test process can see every
execution, even across worker crashes. ``task_sleep`` makes this worker slow,
so a test can kill it while it holds unacknowledged deliveries.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from redis.asyncio import Redis
from taskiq import Context, TaskiqDepends
from taskiq.receiver import Receiver
from taskiq_aio_pika import AioPikaBroker, Queue


def build(config: dict[str, Any]) -> tuple[AioPikaBroker, Redis]:
    queues = [Queue(**queue) for queue in config.get("queues", [])]
    broker = AioPikaBroker(config["url"], queues=queues, **config["broker"])
    if config.get("listen_queues"):
        broker.with_listen_queues(*config["listen_queues"])
    redis = Redis.from_url(config["redis_url"], decode_responses=True)
    key = config["record_key"]
    task_sleep = float(config.get("task_sleep", 0))
    label = config["broker"]["connection_name"]

    @broker.task(task_name="record")
    async def record(value: str) -> str:
        await redis.rpush(key, f"started:{value}")
        await asyncio.sleep(task_sleep)
        await redis.rpush(key, value)
        await redis.rpush(key, f"by:{label}:{value}")
        return value

    @broker.task(task_name="reject_me")
    async def reject_me(context: Context = TaskiqDepends()) -> None:
        context.reject()

    return broker, redis


async def main() -> None:
    config = json.loads(sys.argv[1])
    broker, _ = build(config)
    broker.is_worker_process = True
    await broker.startup()
    print("worker ready", flush=True)
    await Receiver(broker, ack_type=config.get("ack_type")).listen(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main())
