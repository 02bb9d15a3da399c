"""The core queue-inspection contract on AioKafkaBroker (tansu on 127.0.0.1:9092).

Kafka's depth is the consumer group's lag (see `taskiq_aio_kafka.queues`), so two
tests of the suite are replaced by what Kafka can tell: a delivered, unfinished task
is still counted as ready (in flight is unknown), and purge is not supported.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from taskiq import AsyncBroker, NotSupportedError, queues_of
from taskiq.control import QueueInspector
from taskiq.testing.dead_letter_contract import settle, taken
from taskiq.testing.queue_contract import QueueContract, depth_becomes, routed_message
from taskiq_aio_kafka import AioKafkaBroker

pytestmark = [pytest.mark.service("kafka"), pytest.mark.timeout(120)]


class TestKafkaQueues(QueueContract):
    @pytest.fixture
    async def broker(self, kafka_url: str, names: Any) -> AsyncIterator[AioKafkaBroker]:
        broker = AioKafkaBroker(
            bootstrap_servers=kafka_url,
            kafka_topic=names.topic(),
            kafka_topics=[names.topic("other")],
        )
        broker.configure_consumer(group_id=names.group())
        broker.is_worker_process = True
        await broker.startup()
        yield broker
        await broker.shutdown()

    async def test_delivered_unsettled_messages_are_in_flight(
        self,
        broker: AsyncBroker,
        inspector: QueueInspector,
    ) -> None:
        await self.kick(broker, 3)
        await depth_becomes(inspector.depth, ready=3)
        async with taken(broker, 3) as deliveries:
            depth = await inspector.depth()
            assert (depth.ready, depth.in_flight) == (3, None), "the lag counts them"
            for delivery in deliveries:
                await settle(delivery.ack())
            await depth_becomes(inspector.depth)

    async def test_purge_empties_the_ready_messages_only(
        self,
        broker: AsyncBroker,
        inspector: QueueInspector,
    ) -> None:
        await self.kick(broker, 1)
        with pytest.raises(NotSupportedError, match="purge"):
            await inspector.purge()
        await depth_becomes(inspector.depth, ready=1)


async def test_every_task_topic_is_listed_default_first(kafka_url: str, names: Any) -> None:
    broker = AioKafkaBroker(
        bootstrap_servers=kafka_url, kafka_topic=names.topic(), kafka_topics=[names.topic("b")]
    )
    broker.configure_consumer(group_id=names.group())
    await broker.startup()
    try:
        await broker.kick(routed_message(broker))
        depths = await queues_of(broker).depths()
    finally:
        await broker.shutdown()
    assert [depth.queue for depth in depths] == list(broker.topics)
    assert [(depth.ready, depth.in_flight, depth.delayed) for depth in depths] == [
        (1, None, None),
        (0, None, None),
    ]
