"""The core dead-letter contract suite, run against AioPikaBroker on the shared RabbitMQ.

Classic and quorum queues both, since RabbitMQ treats their dead letters differently.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pika_helpers import BrokerFactory, Names, queue_stats
from taskiq.testing.dead_letter_contract import DeadLetterContract, OtherQueue
from taskiq.testing.snippets import python_blocks
from taskiq_aio_pika import AioPikaBroker, Queue, QueueType

ROOT = Path(__file__).parents[3]
#: The pages whose dead-letter fragments this broker must run as written.
DOCUMENTED = [
    ROOT / "docs" / "brokers" / "rabbitmq.md",
]
MARKER = "page = await store.list(limit=100)"


def _fragments() -> list[tuple[str, str]]:
    return [(str(page), code) for page in DOCUMENTED for code in python_blocks(page, MARKER)]


def test_every_documented_page_has_the_fragment() -> None:
    for page in DOCUMENTED:
        assert python_blocks(page, MARKER), page


class TestClassicQueueDeadLetters(DeadLetterContract):
    queue_type = QueueType.CLASSIC

    @pytest.fixture
    async def broker(self, make_broker: BrokerFactory) -> AioPikaBroker:
        broker = await make_broker(queue_type=self.queue_type)
        broker.is_worker_process = True
        return broker

    @pytest.fixture
    def worker_app(self, rabbit: str, names: Names) -> str:
        return (
            "from taskiq_aio_pika import AioPikaBroker\n"
            f"broker = AioPikaBroker({rabbit!r}, exchange_name={names.exchange!r}, "
            f"queue_name={names.queue!r}, queue_type={self.queue_type.value!r})\n"
        )

    @pytest.fixture
    def documented_fragments(self) -> list[tuple[str, str]]:
        return _fragments()

    @pytest.fixture
    async def other_queue(self, make_broker: BrokerFactory, names: Names) -> OtherQueue:
        other = Queue(names("other"), queue_type=self.queue_type)
        broker = await make_broker(
            queue_type=self.queue_type,
            queues=[other],
            listen_queues=[other.name],
            connection_name=f"{names.prefix}-other",
        )
        return OtherQueue(other.name, broker)


class TestQuorumQueueDeadLetters(TestClassicQueueDeadLetters):
    queue_type = QueueType.QUORUM


async def test_dead_letter_queues_are_bounded_by_default_and_by_option(
    make_broker: BrokerFactory,
    names: Names,
) -> None:
    await make_broker()
    arguments = queue_stats(names("q.dead_letter"))["arguments"]
    assert (arguments["x-max-length"], arguments["x-message-ttl"]) == (100_000, 604_800_000)
    await make_broker(
        queue_name=names("small"),
        dead_letter_max_length=3,
        dead_letter_ttl=60,
        connection_name=f"{names.prefix}-second",
    )
    arguments = queue_stats(names("small.dead_letter"))["arguments"]
    assert (arguments["x-max-length"], arguments["x-message-ttl"]) == (3, 60_000)


async def test_a_full_dead_letter_queue_drops_the_oldest(
    make_broker: BrokerFactory,
) -> None:
    from taskiq.testing.dead_letter_contract import message_for, taken

    broker = await make_broker(dead_letter_max_length=2)
    store = broker.dead_letter_store()
    sent = [message_for(broker) for _ in range(3)]
    for message in sent:
        await broker.kick(message)
    async with taken(broker, 3) as deliveries:
        for delivery in deliveries:
            assert delivery.dead_letter is not None
            await delivery.dead_letter("contract test")
    letters = (await store.list()).letters
    assert [letter.task_id for letter in letters] == [m.task_id for m in sent[1:]]


def test_the_earlier_dead_letter_type_is_the_core_one() -> None:
    import taskiq
    import taskiq_aio_pika

    assert taskiq_aio_pika.DeadLetter is taskiq.DeadLetter
