"""ListQueueBroker (one worker per task, FIFO) and PubSubBroker (every worker)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis_test_helpers import eventually
from taskiq.message import BrokerMessage
from taskiq_redis import ListQueueBroker, PubSubBroker

from conftest import RedisServer


async def _wait_subscribed(url: str, channel: str) -> None:
    async with Redis.from_url(url) as admin:

        async def subscribed() -> bool:
            counts = dict(await admin.pubsub_numsub(channel))
            return int(counts.get(channel.encode(), 0)) == 1

        await eventually(subscribed, what=f"a subscriber on {channel}")


def _message(payload: bytes) -> BrokerMessage:
    return BrokerMessage(task_id="id", task_name="t", message=payload, labels={})


async def test_list_queue_delivers_each_message_once_in_order(
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    broker = ListQueueBroker(redis_url, queue_name=queue_name)
    await broker.startup()
    for payload in (b"1", b"2", b"3"):
        await broker.kick(_message(payload))
    listener = broker.listen()
    got = [await asyncio.wait_for(listener.__anext__(), 20) for _ in range(3)]
    assert got == [b"1", b"2", b"3"]
    assert await redis_client.llen(queue_name) == 0  # type: ignore[misc]
    await listener.aclose()
    await broker.shutdown()


async def test_pubsub_broadcasts_to_every_worker(
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    workers = [PubSubBroker(redis_url, queue_name=queue_name) for _ in range(2)]
    for worker in workers:
        await worker.startup()
    listeners = [worker.listen() for worker in workers]
    receiving = [asyncio.create_task(listener.__anext__()) for listener in listeners]  # type: ignore[arg-type]

    async def both_subscribed() -> bool:
        counts = dict(await redis_client.pubsub_numsub(queue_name))
        return int(counts.get(queue_name.encode(), 0)) == 2

    await eventually(both_subscribed, what="both workers subscribed")
    client = PubSubBroker(redis_url, queue_name=queue_name)
    await client.kick(_message(b"everyone"))
    assert await asyncio.wait_for(asyncio.gather(*receiving), 20) == [b"everyone", b"everyone"]
    for listener in listeners:
        await listener.aclose()
    for broker in (*workers, client):
        await broker.shutdown()


async def test_list_and_pubsub_workers_carry_on_after_a_redis_restart(
    redis_server: RedisServer,
) -> None:
    lists = ListQueueBroker(redis_server.url, queue_name="after-restart")
    pubsub = PubSubBroker(redis_server.url, queue_name="after-restart")
    list_listener = lists.listen()
    pubsub_listener = pubsub.listen()
    list_next = asyncio.ensure_future(list_listener.__anext__())
    pubsub_next = asyncio.ensure_future(pubsub_listener.__anext__())
    await _wait_subscribed(redis_server.url, "after-restart")
    redis_server.stop()
    redis_server.start()
    await _wait_subscribed(redis_server.url, "after-restart")
    await lists.kick(_message(b"queued"))
    await pubsub.kick(_message(b"broadcast"))
    assert await asyncio.wait_for(list_next, 20) == b"queued"
    assert await asyncio.wait_for(pubsub_next, 20) == b"broadcast"
    for listener in (list_listener, pubsub_listener):
        await listener.aclose()
    for broker in (lists, pubsub):
        await broker.shutdown()
