"""The core queue-inspection contract suite, run against AioPikaBroker on the shared RabbitMQ.

Classic and quorum queues both: they count their messages differently inside RabbitMQ.
"""

from __future__ import annotations

import pytest
from pika_helpers import BrokerFactory, Names
from taskiq.testing.queue_contract import QueueRoutingContract
from taskiq_aio_pika import AioPikaBroker, Queue, QueueType


class TestClassicQueues(QueueRoutingContract):
    queue_type = QueueType.CLASSIC

    @pytest.fixture
    async def broker(self, make_broker: BrokerFactory, names: Names) -> AioPikaBroker:
        broker = await make_broker(
            queue_type=self.queue_type,
            queues=[Queue(names("routed"), queue_type=self.queue_type)],
            listen_queues=[names.queue],
        )
        broker.is_worker_process = True
        return broker

    @pytest.fixture
    def routed_queue(self, names: Names) -> str:
        return names("routed")


class TestQuorumQueues(TestClassicQueues):
    queue_type = QueueType.QUORUM


async def test_in_flight_and_delayed_are_unknown(make_broker: BrokerFactory) -> None:
    """AMQP counts ready messages only: the other two stay None, never a guess."""
    depth = await (await make_broker()).queue_inspector().depth()
    assert (depth.in_flight, depth.delayed) == (None, None)
