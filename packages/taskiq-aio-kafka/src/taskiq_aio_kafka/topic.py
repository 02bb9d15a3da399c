"""Topics the broker sends to and listens on, and how each is created when missing.

Taskiq's Kafka broker documents three ways to name a topic: a plain string, an
aiokafka ``NewTopic``, or a `Topic` with a `TopicConfig`. All three end up as a
``NewTopic`` here, so start-up creates every missing topic with the partitions
the user asked for (one partition for a plain name unless ``partitions`` says
otherwise). ``TopicConfig.declare`` is accepted for compatibility; a missing
topic is created either way, because a worker cannot consume one that is not
there.
"""

from __future__ import annotations

import dataclasses
from typing import TypeAlias

from aiokafka.admin import NewTopic


@dataclasses.dataclass
class TopicConfig:
    """How to create a topic: partitions, replication and topic-level settings."""

    declare: bool = False
    num_partitions: int = 1
    replication_factor: int = 1
    replica_assignments: dict[int, list[int]] = dataclasses.field(default_factory=dict)
    topic_configs: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Topic:
    """A topic by name, with the settings used when start-up has to create it."""

    name: str
    topic_config: TopicConfig = dataclasses.field(default_factory=TopicConfig)

    def new_topic(self) -> NewTopic:
        """The admin-client request that creates this topic."""
        config = self.topic_config
        return NewTopic(
            name=self.name,
            num_partitions=config.num_partitions,
            replication_factor=config.replication_factor,
            replica_assignments=config.replica_assignments or None,
            topic_configs=config.topic_configs,
        )


#: A topic as the broker accepts it: a name, an aiokafka ``NewTopic`` or a `Topic`.
TopicType: TypeAlias = "str | Topic | NewTopic"


def topic_name(topic: TopicType) -> str:
    """The name of a topic given in any of the accepted forms."""
    return topic if isinstance(topic, str) else topic.name


def as_new_topic(topic: TopicType, partitions: int = 1) -> NewTopic:
    """A creation request for ``topic``; a plain name gets ``partitions`` partitions."""
    if isinstance(topic, str):
        return NewTopic(name=topic, num_partitions=partitions, replication_factor=1)
    if isinstance(topic, Topic):
        return topic.new_topic()
    return topic
