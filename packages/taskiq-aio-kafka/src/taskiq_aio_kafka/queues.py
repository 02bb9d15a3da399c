"""Queue inspection on Kafka: a topic's depth is its consumer group's lag.

Kafka keeps no per-message state, only each partition's end offset and the offset
the group committed. So for a task topic:

- ``ready`` = the group's lag: end offsets minus committed offsets (minus the oldest
  offsets kept, for a partition the group never committed: it starts at the earliest).
  It includes the tasks a worker has fetched and not finished yet, because the broker
  commits only what is finished (`taskiq_aio_kafka.offsets`).
- ``in_flight`` = None: how many of the lag a worker holds is known only inside it.
- ``delayed`` = None: delayed tasks of every topic wait in one delay topic, and its lag
  also counts records already moved behind one that is not due yet: no exact count.
- ``dead`` = the live dead letters whose original topic is this one.

Purging is not supported: Kafka cannot delete records ahead of a consumer, and moving
the group's offsets from outside needs every worker of the group stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from taskiq.control import QueueDepth, QueueInspector
from taskiq.exceptions import BrokerError, NotSupportedError

from taskiq_aio_kafka.dead_letters import KafkaDeadLetterStore
from taskiq_aio_kafka.errors import kafka_errors


class KafkaQueueInspector(QueueInspector):
    """Lag of the group ``group`` on the broker's task topics."""

    def __init__(
        self,
        topics: Sequence[str],
        group: str | None,
        admin: Callable[[], Any],
        consumer_factory: Callable[[], AIOKafkaConsumer],
        dead_letters: Callable[[str], KafkaDeadLetterStore],
    ) -> None:
        self.topics = list(topics)
        self.group = group
        self._admin = admin
        self._consumer_factory = consumer_factory
        self._dead_letters = dead_letters

    def queue_names(self) -> Sequence[str]:
        """The broker's task topics, its default topic first."""
        return list(self.topics)

    async def depth(self, queue: str | None = None) -> QueueDepth:
        """Lag of the group on ``queue`` and its live dead letters."""
        topic = self._known(queue)
        with kafka_errors(BrokerError, f"Cannot read the offsets of {topic!r}"):
            ready = await self._lag(topic)
        dead = await self._dead_letters(topic).count()
        return QueueDepth(queue=topic, ready=ready, delayed=None, in_flight=None, dead=dead)

    async def purge(self, queue: str | None = None) -> int:
        """Not supported on Kafka (see the module docstring)."""
        self._known(queue)
        raise NotSupportedError(
            "Not supported by AioKafkaBroker: purge (Kafka cannot delete the records "
            "waiting in a topic). Let the workers run them, or use a new topic.",
            feature="purge",
            implementation="AioKafkaBroker",
        )

    def _known(self, queue: str | None) -> str:
        topic = self.topics[0] if queue is None else queue
        if topic not in self.topics:
            raise ValueError(
                f"Unknown queue {topic!r}: this broker's topics are "
                f"{', '.join(map(repr, self.topics))}."
            )
        return topic

    async def _lag(self, topic: str) -> int:
        consumer = self._consumer_factory()
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, partition) for partition in sorted(partitions)]
            if not tps:
                return 0
            ends = await consumer.end_offsets(tps)
            starts = await consumer.beginning_offsets(tps)
        finally:
            await consumer.stop()
        committed = await self._committed(tps)
        lag = 0
        for tp in tps:
            position = committed.get(tp)
            if position is None or position < starts[tp]:
                position = starts[tp]  # never committed (or expired): it starts earliest
            lag += max(0, ends[tp] - position)
        return lag

    async def _committed(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        if self.group is None:
            return {}
        offsets = await self._admin().list_consumer_group_offsets(self.group, partitions=tps)
        return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
