"""Every topic one broker uses, named once, and creating or deleting them.

Built from the constructor's options: the default topic, the extra ones (and
those ``@broker.task(topic=...)`` adds), the delay topic and the dead-letter
topic. Start-up creates whichever is missing; ``delete_topic_on_shutdown``
deletes them all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from taskiq.exceptions import BrokerError

from taskiq_aio_kafka.errors import KAFKA_FAILURES, describe, kafka_errors
from taskiq_aio_kafka.topic import TopicType, as_new_topic, topic_name

logger = logging.getLogger("taskiq_aio_kafka")

DEFAULT_TOPIC = "taskiq_topic"


class Topology:
    """The task topics (name → how to create it) plus the delay and dead-letter topics."""

    def __init__(
        self,
        default: TopicType | None,
        extra: Iterable[TopicType] = (),
        partitions: int = 1,
        delay_topic: str | None = None,
        dead_letter_topic: str | None = None,
    ) -> None:
        chosen = default if default is not None else DEFAULT_TOPIC
        self.default_topic = topic_name(chosen)
        self.partitions = partitions
        self.topics: dict[str, TopicType] = {self.default_topic: chosen}
        for topic in extra:
            self.add(topic)
        self.delay_topic = delay_topic or f"{self.default_topic}-delayed"
        self.dead_letter_topic = dead_letter_topic or f"{self.default_topic}-dead-letters"

    def add(self, topic: TopicType) -> str:
        """Listen on (and create) ``topic`` too; returns its name."""
        name = topic_name(topic)
        self.topics.setdefault(name, topic)
        return name

    def listened(self) -> list[str]:
        """The topics a worker subscribes to: task topics and the delay topic."""
        return [*self.topics, self.delay_topic]

    def wanted(self) -> list[NewTopic]:
        """Creation requests for every topic (a plain name gets ``partitions`` partitions)."""
        wanted = [as_new_topic(topic, self.partitions) for topic in self.topics.values()]
        wanted.append(as_new_topic(self.delay_topic, self.partitions))
        wanted.append(as_new_topic(self.dead_letter_topic, 1))  # one partition: ids are offsets
        return wanted

    async def ensure(self, admin: AIOKafkaAdminClient) -> None:
        """Create every topic that is missing; `BrokerError` if that fails."""
        with kafka_errors(BrokerError, "Cannot list or create the Kafka topics"):
            existing = set(await admin.list_topics())
            missing = [topic for topic in self.wanted() if topic.name not in existing]
            if missing:
                await admin.create_topics(missing)
                logger.info("Created Kafka topics %s.", ", ".join(t.name for t in missing))

    async def delete(self, admin: AIOKafkaAdminClient) -> None:
        """Delete every topic of the broker that exists; failures are only logged."""
        names = [*self.topics, self.delay_topic, self.dead_letter_topic]
        try:
            existing = set(await admin.list_topics())
            doomed = [name for name in names if name in existing]
            if doomed:
                await admin.delete_topics(doomed)
        except KAFKA_FAILURES as exc:
            logger.warning("Deleting the topics on shutdown failed: %s", describe(exc))
