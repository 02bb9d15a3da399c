"""The core dead-letter contract suite, run against RedisBroker on the shared Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from taskiq.testing.dead_letter_contract import DeadLetterContract, OtherQueue, message_for, taken
from taskiq.testing.snippets import python_blocks
from taskiq_redis import RedisBroker


async def _started(url: str, queue: str) -> RedisBroker:
    broker = RedisBroker(url, queue_name=queue, idle_timeout=60_000, xread_block=200)
    broker.is_worker_process = True
    await broker.startup()
    return broker


ROOT = Path(__file__).parents[3]
#: The pages whose dead-letter fragments this broker must run as written.
DOCUMENTED = [
    ROOT / "docs" / "operations.md",
    ROOT / "docs" / "brokers" / "redis.md",
    ROOT / "packages" / "taskiq-redis" / "README.md",
]
MARKER = "page = await store.list(limit=100)"


def _fragments() -> list[tuple[str, str]]:
    return [(str(page), code) for page in DOCUMENTED for code in python_blocks(page, MARKER)]


def test_every_documented_page_has_the_fragment() -> None:
    for page in DOCUMENTED:
        assert python_blocks(page, MARKER), page


class TestRedisDeadLetters(DeadLetterContract):
    @pytest.fixture
    async def broker(self, redis_url: str, queue_name: str) -> AsyncIterator[RedisBroker]:
        broker = await _started(redis_url, queue_name)
        yield broker
        await broker.shutdown()

    @pytest.fixture
    def worker_app(self, redis_url: str, queue_name: str) -> str:
        return (
            "from taskiq_redis import RedisBroker\n"
            f"broker = RedisBroker({redis_url!r}, queue_name={queue_name!r})\n"
        )

    @pytest.fixture
    def documented_fragments(self) -> list[tuple[str, str]]:
        return _fragments()

    @pytest.fixture
    async def other_queue(
        self,
        redis_url: str,
        redis_client: Redis,
    ) -> AsyncIterator[OtherQueue]:
        name = f"tq-test-other-{uuid.uuid4().hex[:12]}"
        broker = await _started(redis_url, name)
        yield OtherQueue(name, broker)
        await broker.shutdown()
        keys = [key async for key in redis_client.scan_iter(match=f"*{name}*")]
        if keys:
            await redis_client.delete(*keys)


async def test_the_dead_letter_stream_is_trimmed(redis_url: str, queue_name: str) -> None:
    """``dead_letter_maxlen`` bounds ``{queue}:dead`` (approximately: whole stream nodes)."""
    broker = RedisBroker(redis_url, queue_name=queue_name, dead_letter_maxlen=10, xread_block=200)
    broker.is_worker_process = True
    await broker.startup()
    try:
        sent = [message_for(broker) for _ in range(300)]
        for message in sent:
            await broker.kick(message)
        async with taken(broker, 300) as deliveries:
            for delivery in deliveries:
                assert delivery.dead_letter is not None
                await delivery.dead_letter("trim test")
        kept = await broker.dead_letter_store().count()
        assert 10 <= kept <= 210, kept
        newest = (await broker.dead_letter_store().list(limit=kept)).letters[-1]
        assert newest.task_id == sent[-1].task_id, "the oldest go first"
    finally:
        await broker.shutdown()


def test_the_earlier_dead_letter_type_is_the_core_one() -> None:
    import taskiq
    import taskiq_redis

    assert taskiq_redis.DeadLetter is taskiq.DeadLetter
