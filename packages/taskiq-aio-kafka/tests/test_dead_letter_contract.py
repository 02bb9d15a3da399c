"""The core dead-letter contract suite, run against AioKafkaBroker on the Kafka-API server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from taskiq import dead_letters_of
from taskiq.testing.dead_letter_contract import DeadLetterContract, OtherQueue, message_for, taken
from taskiq.testing.snippets import python_blocks
from taskiq_aio_kafka import AioKafkaBroker

pytestmark = [pytest.mark.service("kafka"), pytest.mark.timeout(120)]


async def _started(url: str, topic: str, group: str, **kwargs: Any) -> AioKafkaBroker:
    broker = AioKafkaBroker(bootstrap_servers=url, kafka_topic=topic, **kwargs)
    broker.configure_consumer(group_id=group)
    broker.is_worker_process = True
    await broker.startup()
    return broker


ROOT = Path(__file__).parents[3]
#: The pages whose dead-letter fragments this broker must run as written.
DOCUMENTED = [ROOT / "docs" / "brokers" / "kafka.md"]
MARKER = "page = await store.list(limit=100)"


def _fragments() -> list[tuple[str, str]]:
    return [(str(page), code) for page in DOCUMENTED for code in python_blocks(page, MARKER)]


def test_every_documented_page_has_the_fragment() -> None:
    for page in DOCUMENTED:
        assert python_blocks(page, MARKER), page


class TestKafkaDeadLetters(DeadLetterContract):
    @pytest.fixture
    async def broker(self, kafka_url: str, names: Any) -> AsyncIterator[AioKafkaBroker]:
        broker = await _started(kafka_url, names.topic(), names.group())
        yield broker
        await broker.shutdown()

    @pytest.fixture
    def worker_app(self, kafka_url: str, names: Any) -> str:
        # Its own group: the test's broker is a group member too and, with one
        # partition, could be the one assigned it.
        return (
            "from taskiq_aio_kafka import AioKafkaBroker\n"
            f"broker = AioKafkaBroker(bootstrap_servers={kafka_url!r}, "
            f"kafka_topic={names.topic()!r})\n"
            f"broker.configure_consumer(group_id={names.group('worker')!r})\n"
        )

    @pytest.fixture
    def documented_fragments(self) -> list[tuple[str, str]]:
        return _fragments()

    @pytest.fixture
    async def other_queue(self, kafka_url: str, names: Any) -> AsyncIterator[OtherQueue]:
        broker = await _started(kafka_url, names.topic("other"), names.group("other"))
        yield OtherQueue(broker.default_topic, broker)
        await broker.shutdown()


async def test_one_topic_store_sees_only_its_letters(kafka_url: str, names: Any) -> None:
    """The broker's store lists every topic's dead letters; a topic's store only its own."""
    emails = names.topic("emails")
    broker = await _started(kafka_url, names.topic(), names.group(), kafka_topics=[emails])
    try:
        sent = {}
        for topic in (broker.default_topic, emails):
            sent[topic] = message_for(broker)
            sent[topic].labels[broker.task_topic_label] = topic
            await broker.kick(sent[topic])
        async with taken(broker, 2) as deliveries:
            for delivery in deliveries:
                assert delivery.dead_letter is not None
                await delivery.dead_letter("test")
        assert await dead_letters_of(broker).count() == 2
        only = broker.dead_letter_store(emails)
        assert [letter.queue for letter in (await only.list()).letters] == [emails]
        assert await only.replay_all() == 1
        async with taken(broker, 1) as [again]:
            assert again.data == sent[emails].message
            await again.ack()
        assert [letter.queue for letter in await broker.dead_letters()] == [broker.default_topic]
        with pytest.raises(ValueError, match="No dead letters of 'elsewhere'"):
            broker.dead_letter_store("elsewhere")
    finally:
        await broker.shutdown()


def test_the_earlier_dead_letter_type_is_the_core_one() -> None:
    import taskiq
    import taskiq_aio_kafka

    assert taskiq_aio_kafka.DeadLetter is taskiq.DeadLetter
