"""The core queue-inspection contract suite, run against RedisBroker on the shared Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from taskiq.testing.queue_contract import QueueContract
from taskiq_redis import RedisBroker


class TestRedisQueues(QueueContract):
    @pytest.fixture
    async def broker(self, redis_url: str, queue_name: str) -> AsyncIterator[RedisBroker]:
        broker = RedisBroker(redis_url, queue_name=queue_name, idle_timeout=60_000, xread_block=200)
        broker.is_worker_process = True
        await broker.startup()
        yield broker
        await broker.shutdown()

    @pytest.fixture
    async def routed_queue(self, redis_client: Redis) -> AsyncIterator[str]:
        name = f"tq-test-routed-{uuid.uuid4().hex[:12]}"
        yield name
        keys = [key async for key in redis_client.scan_iter(match=f"*{name}*")]
        if keys:
            await redis_client.delete(*keys)


class TestRedisPriorityQueues(TestRedisQueues):
    """Every priority stream of a queue counts towards its depth."""

    @pytest.fixture
    async def broker(self, redis_url: str, queue_name: str) -> AsyncIterator[RedisBroker]:
        broker = RedisBroker(
            redis_url, queue_name=queue_name, idle_timeout=60_000, xread_block=200, max_priority=3
        )
        broker.is_worker_process = True
        await broker.startup()
        yield broker
        await broker.shutdown()

    async def test_every_priority_level_counts(self, broker: RedisBroker) -> None:
        inspector = broker.queue_inspector()
        for level in range(4):
            await self.kick(broker, 2, priority=level)
        assert (await inspector.depth()).ready == 8
        assert await inspector.purge() == 8
        assert (await inspector.depth()).ready == 0
