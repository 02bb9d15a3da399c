"""The Cluster variants against a real 3-node Redis Cluster started by the fixture."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import RedisCluster
from redis.cluster import key_slot
from redis_test_helpers import eventually, next_message
from taskiq.message import BrokerMessage
from taskiq.result import TaskiqResult
from taskiq.task import AsyncTaskiqTask
from taskiq_redis.cluster import (
    ListQueueClusterBroker,
    PubSubClusterBroker,
    RedisAsyncClusterResultBackend,
    RedisStreamClusterBroker,
)
from taskiq_redis.keys import StreamQueueKeys

pytestmark = pytest.mark.slow


def _message(payload: bytes, **labels: object) -> BrokerMessage:
    return BrokerMessage(task_id="id", task_name="t", message=payload, labels=dict(labels))


def test_every_key_of_a_queue_shares_one_slot() -> None:
    keys = StreamQueueKeys("orders", max_priority=3)
    names = [*keys.streams_by_level(), keys.delayed, keys.dead]
    assert len({key_slot(name.encode()) for name in names}) == 1


async def test_stream_broker_on_a_cluster_acks_rejects_delays_and_prioritises(
    redis_cluster_url: str,
) -> None:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    broker = RedisStreamClusterBroker(
        redis_cluster_url, queue_name=queue, max_priority=1, xread_block=200
    )
    await broker.startup()
    await broker.kick(_message(b"later", delay=0.5))
    await broker.kick(_message(b"low"))
    await broker.kick(_message(b"high", priority=1))
    listener = broker.listen()
    received = []
    for _ in range(3):
        message = await next_message(listener)
        received.append(message.data)
        if message.data == b"low":
            assert message.reject is not None
            await message.reject()
        else:
            await message.ack()
    assert received == [b"high", b"low", b"later"]
    assert [letter.message for letter in await broker.dead_letters()] == [b"low"]
    assert await broker.replay_dead_letters() == 1
    again = await next_message(listener)
    assert again.data == b"low"
    await again.ack()
    assert await broker.redis.xlen(broker.keys.stream()) == 0
    await listener.aclose()
    await broker.shutdown()


async def test_list_queue_on_a_cluster(redis_cluster_url: str) -> None:
    broker = ListQueueClusterBroker(redis_cluster_url, queue_name=f"l-{uuid.uuid4().hex[:8]}")
    await broker.startup()
    await broker.kick(_message(b"one"))
    listener = broker.listen()
    assert await asyncio.wait_for(listener.__anext__(), 20) == b"one"
    await listener.aclose()
    await broker.shutdown()


async def test_result_backend_on_a_cluster_pushes_readiness(redis_cluster_url: str) -> None:
    backend = RedisAsyncClusterResultBackend(redis_cluster_url, prefix_str="tq-test")
    await backend.startup()
    task_id = uuid.uuid4().hex
    waiter = asyncio.create_task(
        AsyncTaskiqTask(task_id, backend).wait_result(check_interval=10, timeout=30)
    )
    writer = RedisAsyncClusterResultBackend(redis_cluster_url, prefix_str="tq-test")

    async def waiting() -> bool:
        return backend.readiness.waiting(task_id)

    await eventually(waiting, what="waiter registered")
    await writer.set_result(task_id, TaskiqResult(is_err=False, return_value=3, execution_time=0.0))
    result = await asyncio.wait_for(waiter, 5)  # far less than the 10 s poll interval
    assert result.return_value == 3
    await writer.shutdown()
    await backend.shutdown()
    async with RedisCluster.from_url(redis_cluster_url) as client:
        await client.delete(f"tq-test:{task_id}")


async def test_pubsub_on_a_cluster_reaches_a_subscriber(redis_cluster_url: str) -> None:
    channel = f"p-{uuid.uuid4().hex[:8]}"
    worker = PubSubClusterBroker(redis_cluster_url, queue_name=channel)
    await worker.startup()
    listener = worker.listen()
    receiving = asyncio.ensure_future(listener.__anext__())
    client = PubSubClusterBroker(redis_cluster_url, queue_name=channel)
    await client.startup()

    async def delivered() -> bool:  # publish until the subscription is live
        await client.kick(_message(b"to every node"))
        await asyncio.sleep(0.05)
        return receiving.done()

    await eventually(delivered, what="a broadcast received on the cluster")
    assert receiving.result() == b"to every node"
    await listener.aclose()
    await worker.shutdown()
    await client.shutdown()
