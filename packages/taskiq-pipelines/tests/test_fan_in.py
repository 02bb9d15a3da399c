"""The fan-in contract on the in-memory and Redis result backends; unsupported backends."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from taskiq import InMemoryBroker
from taskiq.exceptions import NotSupportedError
from taskiq.result_backends.dummy import DummyResultBackend
from taskiq_pipelines import Pipeline, PipelineMiddleware, fan_in_of
from taskiq_pipelines.testing import FanInContract
from taskiq_redis import RedisAsyncResultBackend, RedisBroker

REDIS_URL = "redis://127.0.0.1:6379/0"


class TestInmemoryFanIn(FanInContract):
    @pytest.fixture
    async def broker(self) -> AsyncIterator[InMemoryBroker]:
        broker = InMemoryBroker()
        await broker.startup()
        yield broker
        await broker.shutdown()


class TestRedisFanIn(FanInContract):
    @pytest.fixture
    async def broker(
        self, require_service: Callable[[str, str, int], None]
    ) -> AsyncIterator[RedisBroker]:
        require_service("redis", "127.0.0.1", 6379)
        prefix = f"tq-pipe-{uuid.uuid4().hex[:12]}"
        backend = RedisAsyncResultBackend(REDIS_URL, prefix_str=prefix)
        broker = RedisBroker(REDIS_URL, queue_name=prefix).with_result_backend(backend)
        await broker.startup()
        yield broker  # the suite's keys expire within 30 s (its longest ttl)
        await broker.shutdown()


async def test_a_backend_that_cannot_count_says_so_at_kiq() -> None:
    broker = InMemoryBroker().with_result_backend(DummyResultBackend())
    broker.add_middlewares(PipelineMiddleware())

    @broker.task
    def items(count: int) -> list[int]:
        return list(range(count))

    with pytest.raises(NotSupportedError, match="cannot count their members"):
        fan_in_of(broker)
    with pytest.raises(NotSupportedError, match="DummyResultBackend"):
        await Pipeline(broker, items).map(items).kiq(2)
