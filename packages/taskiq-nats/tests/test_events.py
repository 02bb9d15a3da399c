"""Events on NATS: the contract suite on the shared server (a core subject per bucket)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from taskiq import ResultBackendError, events_of
from taskiq.testing.events_contract import EventsContract
from taskiq_nats import JetStreamBroker, NATSKeyValueResultBackend


class TestNATSEvents(EventsContract):
    @pytest.fixture
    async def broker(self, nats_url: str, names: Any) -> AsyncIterator[JetStreamBroker]:
        backend: NATSKeyValueResultBackend[Any] = NATSKeyValueResultBackend(
            nats_url, bucket_name=names.bucket("results")
        )
        broker = JetStreamBroker(
            nats_url, subject=names.subject(), stream_name=names.stream()
        ).with_result_backend(backend)
        await broker.startup()
        yield broker
        await broker.shutdown()


async def test_a_feed_of_a_backend_not_started_says_so(nats_url: str, names: Any) -> None:
    backend: NATSKeyValueResultBackend[Any] = NATSKeyValueResultBackend(
        nats_url, bucket_name=names.bucket("results")
    )
    with pytest.raises(ResultBackendError, match="startup"):
        await events_of(backend).watched()
