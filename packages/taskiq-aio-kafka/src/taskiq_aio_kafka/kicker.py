"""``task.kicker().with_topic(...)``: choose the topic of one call.

A task's topic is a label (`TOPIC_LABEL`), so it travels with the message and
``@broker.task(topic=...)`` only sets the task's default; `with_topic`
overrides it for one call.
"""

from __future__ import annotations

from typing import TypeVar

from taskiq.decor import AsyncTaskiqDecoratedTask
from taskiq.kicker import AsyncKicker
from typing_extensions import ParamSpec, Self

from taskiq_aio_kafka.topic import TopicType, topic_name

#: The label naming the topic a task is sent to.
TOPIC_LABEL = "taskiq_aio_kafka_topic"
#: The label whose value becomes the record key (same key: same partition, in order).
KEY_LABEL = "kafka_key"

_Params = ParamSpec("_Params")
_Return = TypeVar("_Return")


class AioKafkaKicker(AsyncKicker[_Params, _Return]):
    """A kicker that can send one call to another topic, or with a record key."""

    def with_topic(self, topic: TopicType) -> Self:
        """Send this call to ``topic`` (a worker must listen on it to run it)."""
        self.labels = {**self.labels, TOPIC_LABEL: topic_name(topic)}
        return self

    def with_key(self, key: str) -> Self:
        """Send this call with record key ``key`` (see per-key ordering in the docs)."""
        self.labels = {**self.labels, KEY_LABEL: key}
        return self


class AioKafkaDecoratedTask(AsyncTaskiqDecoratedTask[_Params, _Return]):
    """A task whose ``kicker()`` is an `AioKafkaKicker`."""

    def kicker(self) -> AioKafkaKicker[_Params, _Return]:
        """A kicker for one call, with ``with_topic`` and ``with_key``."""
        kicker: AioKafkaKicker[_Params, _Return] = AioKafkaKicker(
            task_name=self.task_name,
            broker=self.broker,
            labels=self.labels,
            signature=self.signature,
            binder=self._binder,
        )
        return kicker
