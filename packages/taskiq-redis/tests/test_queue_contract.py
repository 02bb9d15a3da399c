"""The core queue-inspection contract suite, run against RedisBroker on the shared Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from taskiq.testing.queue_contract import QueueRoutingContract, routed_message
from taskiq.testing.snippets import python_blocks, run_fragment
from taskiq_redis import RedisBroker


class TestRedisQueues(QueueRoutingContract):
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


ROOT = Path(__file__).parents[3]
MARKER = "inspector = queues_of(broker)"


async def test_the_documented_example_runs(redis_url: str, queue_name: str) -> None:
    """docs/operations.md's fragment prints the depth and purges the ready messages."""
    [code] = python_blocks(ROOT / "docs" / "operations.md", MARKER)
    broker = RedisBroker(redis_url, queue_name=queue_name)
    await broker.startup()
    try:
        for _ in range(2):
            await broker.kick(routed_message(broker))
        printed = await run_fragment(code, "docs/operations.md", broker=broker)
    finally:
        await broker.shutdown()
    assert f"{queue_name} ready: 2 in flight: 0 dead: 0" in printed
    assert "2 ready messages purged" in printed
