"""The live-workers contract suite on NATSKeyValueResultBackend (the shared NATS)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from taskiq import workers_of
from taskiq.testing.worker_registry_contract import WorkerRegistryContract
from taskiq_nats import JetStreamBroker, NATSKeyValueResultBackend
from taskiq_nats.workers import NATSWorkerRegistry


class TestNATSWorkers(WorkerRegistryContract):
    @pytest.fixture
    async def broker(self, nats_url: str, names: Any) -> AsyncIterator[JetStreamBroker]:
        bucket = names.bucket("results")
        backend: NATSKeyValueResultBackend[Any] = NATSKeyValueResultBackend(
            nats_url, bucket_name=bucket
        )
        broker = JetStreamBroker(
            nats_url, subject=names.subject(), stream_name=names.stream()
        ).with_result_backend(backend)
        await broker.startup()
        yield broker
        await broker.shutdown()


async def test_the_registry_reopens_its_bucket_after_a_reconnect(nats_url: str, names: Any) -> None:
    backend: NATSKeyValueResultBackend[Any] = NATSKeyValueResultBackend(
        nats_url, bucket_name=names.bucket("results")
    )
    registry = workers_of(JetStreamBroker(nats_url).with_result_backend(backend))
    assert isinstance(registry, NATSWorkerRegistry)
    for _ in range(2):
        await backend.startup()
        assert await registry.list() == []
        await backend.shutdown()
