"""Events on Redis: the contract suite on a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from taskiq.testing.events_contract import EventsContract
from taskiq_redis import RedisAsyncResultBackend, RedisBroker


class TestRedisEvents(EventsContract):
    @pytest.fixture
    async def broker(self, redis_url: str, queue_name: str) -> AsyncIterator[RedisBroker]:
        backend = RedisAsyncResultBackend(redis_url, prefix_str=queue_name)
        broker = RedisBroker(redis_url, queue_name=queue_name).with_result_backend(backend)
        await broker.startup()
        yield broker
        await broker.shutdown()
