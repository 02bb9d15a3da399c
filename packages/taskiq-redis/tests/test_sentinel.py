"""The Sentinel variants against a real master + Sentinel started by the fixture."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis_test_helpers import eventually, next_message
from taskiq.message import BrokerMessage
from taskiq.result import TaskiqResult
from taskiq.task import AsyncTaskiqTask
from taskiq_redis.sentinel import (
    ListQueueSentinelBroker,
    PubSubSentinelBroker,
    RedisAsyncSentinelResultBackend,
    RedisStreamSentinelBroker,
)

pytestmark = pytest.mark.slow


def _message(payload: bytes) -> BrokerMessage:
    return BrokerMessage(task_id="id", task_name="t", message=payload, labels={})


async def test_stream_broker_through_sentinel(redis_sentinel: tuple[int, str]) -> None:
    port, master = redis_sentinel
    broker = RedisStreamSentinelBroker(
        [("127.0.0.1", port)], master, queue_name=f"s-{uuid.uuid4().hex[:8]}", xread_block=200
    )
    await broker.startup()
    await broker.kick(_message(b"via sentinel"))
    listener = broker.listen()
    message = await next_message(listener)
    assert message.data == b"via sentinel"
    await message.ack()
    assert await broker.redis.xlen(broker.keys.stream()) == 0
    await listener.aclose()
    await broker.shutdown()


async def test_list_and_pubsub_brokers_through_sentinel(redis_sentinel: tuple[int, str]) -> None:
    port, master = redis_sentinel
    queue = f"s-{uuid.uuid4().hex[:8]}"
    lists = ListQueueSentinelBroker([("127.0.0.1", port)], master, queue_name=queue)
    await lists.startup()
    await lists.kick(_message(b"listed"))
    listener = lists.listen()
    assert await asyncio.wait_for(listener.__anext__(), 20) == b"listed"
    await listener.aclose()
    await lists.shutdown()
    pubsub = PubSubSentinelBroker([("127.0.0.1", port)], master, queue_name=queue)
    await pubsub.startup()
    subscriber = pubsub.listen()
    receiving = asyncio.create_task(subscriber.__anext__())  # type: ignore[arg-type]

    async def subscribed() -> bool:
        counts = dict(await pubsub.redis.pubsub_numsub(queue))
        return int(counts.get(queue.encode(), 0)) == 1

    await eventually(subscribed, what="subscribed through sentinel")
    await pubsub.kick(_message(b"broadcast"))
    assert await asyncio.wait_for(receiving, 20) == b"broadcast"
    await subscriber.aclose()
    await pubsub.shutdown()


async def test_result_backend_through_sentinel(redis_sentinel: tuple[int, str]) -> None:
    port, master = redis_sentinel
    backend = RedisAsyncSentinelResultBackend([("127.0.0.1", port)], master, prefix_str="tq")
    await backend.startup()
    task_id = uuid.uuid4().hex
    waiter = asyncio.create_task(
        AsyncTaskiqTask(task_id, backend).wait_result(check_interval=10, timeout=30)
    )

    async def waiting() -> bool:
        return backend.readiness.waiting(task_id)

    await eventually(waiting, what="waiter registered")
    await backend.set_result(
        task_id, TaskiqResult(is_err=False, return_value="ok", execution_time=0.0)
    )
    result = await asyncio.wait_for(waiter, 5)  # far less than the 10 s poll interval
    assert result.return_value == "ok"
    await backend.shutdown()
