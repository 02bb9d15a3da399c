"""The core queue-inspection contract suite, run against the JetStream brokers (shared NATS)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from taskiq.testing.queue_contract import QueueContract, depth_becomes
from taskiq_nats import JetStreamBroker, PushBasedJetStreamBroker


class TestJetStreamQueues(QueueContract):
    broker_class: type[JetStreamBroker] | type[PushBasedJetStreamBroker] = JetStreamBroker

    @pytest.fixture
    async def broker(self, nats_url: str, names: Any) -> AsyncIterator[Any]:
        broker = self.broker_class(
            nats_url,
            subject=names.subject(),
            stream_name=names.stream(),
            queue=f"q_{names.suffix}",
        )
        broker.is_worker_process = True
        await broker.startup()
        yield broker
        await broker.shutdown()

    async def test_the_queue_answers_to_its_subject_too(self, broker: Any) -> None:
        inspector = broker.queue_inspector()
        assert (await inspector.depth(broker.subject)).queue == broker.queue
        assert await inspector.purge(broker.subject) == 0

    async def test_a_delayed_task_counts_as_ready_until_seen(self, broker: Any) -> None:
        """JetStream cannot tell a delayed task from a ready one: delayed is None."""
        await self.kick(broker, 1, delay=600)
        depth = await depth_becomes(broker.queue_inspector().depth, ready=1)
        assert depth.delayed is None


class TestPushJetStreamQueues(TestJetStreamQueues):
    broker_class = PushBasedJetStreamBroker

    #: Not collected for push consumers: after listen() ends the server keeps delivering
    #: into the subscription, so the messages the test expects ready are in flight
    #: (docs/operations.md, "Queue inspection", says so).
    test_purge_empties_the_ready_messages_only = None  # type: ignore[assignment]
