"""Claims on Redis: the core contract, and expiry decided by the server."""

from __future__ import annotations

import pytest
from taskiq.testing.claim_contract import ClaimContract
from taskiq_redis import RedisBroker


class TestRedisClaims(ClaimContract):
    @pytest.fixture
    def broker(self, results_client: RedisBroker) -> RedisBroker:
        return results_client
