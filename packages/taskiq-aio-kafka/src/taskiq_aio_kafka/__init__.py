"""Kafka for taskiq on aiokafka: `AioKafkaBroker`, at-least-once and rebalance-safe.

Taskiq's documented names (``AioKafkaBroker``, ``Topic``, ``configure_producer``,
``configure_consumer``, ``@broker.task(topic=...)``, ``kicker().with_topic(...)``)
with acknowledged sends, contiguous offset commits, dead letters (the core
`taskiq.DeadLetterStore` contract; ``DeadLetter`` here is the core type) and delays.
"""

from taskiq_aio_kafka.broker import AioKafkaBroker
from taskiq_aio_kafka.dead_letters import DeadLetter
from taskiq_aio_kafka.kicker import AioKafkaDecoratedTask, AioKafkaKicker
from taskiq_aio_kafka.settler import RetryPolicy
from taskiq_aio_kafka.topic import Topic, TopicConfig

__all__ = [
    "AioKafkaBroker",
    "AioKafkaDecoratedTask",
    "AioKafkaKicker",
    "DeadLetter",
    "RetryPolicy",
    "Topic",
    "TopicConfig",
]
