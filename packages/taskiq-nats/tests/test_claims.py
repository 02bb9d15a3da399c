"""Claims in a NATS key-value bucket: the core contract, on the real server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from taskiq import InMemoryBroker
from taskiq.control.claims import claims_of
from taskiq.testing.claim_contract import ClaimContract
from taskiq_nats import NATSKeyValueResultBackend


class TestNATSClaims(ClaimContract):
    @pytest.fixture
    async def broker(self, nats_url: str, names: Any) -> AsyncIterator[InMemoryBroker]:
        backend: Any = NATSKeyValueResultBackend(nats_url, bucket_name=names.bucket())
        names.buckets.append(f"{backend.bucket_name}_claims")
        broker = InMemoryBroker().with_result_backend(backend)
        await broker.startup()
        yield broker
        await broker.shutdown()

    async def test_a_key_of_any_text_is_stored(self, broker: InMemoryBroker) -> None:
        store = claims_of(broker)
        key = "cancel:ünïcode/with spaces..and:colons"
        assert await store.claim(key, "alice", 30) == "alice"
        assert await store.holder(key) == "alice"
        assert await store.release(key, "alice")
