"""Claims on Redis: the core contract, and expiry decided by the server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from taskiq.testing.claim_contract import ClaimContract
from taskiq_redis import RedisAsyncResultBackend, RedisBroker


class TestRedisClaims(ClaimContract):
    @pytest.fixture
    async def broker(self, redis_url: str, queue_name: str) -> AsyncIterator[RedisBroker]:
        backend = RedisAsyncResultBackend(redis_url, prefix_str=queue_name)
        broker = RedisBroker(redis_url, queue_name=queue_name).with_result_backend(backend)
        await broker.startup()
        yield broker
        await broker.shutdown()
