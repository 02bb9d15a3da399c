"""Builds the broker (with its result backend) of a `ChaosConfig`, and registers the tasks.

Every broker is configured for fast redelivery (``redelivery_ms``), so that a
killed worker's tasks come back within a scenario's few seconds, and with the
options a production deployment would keep (acknowledged delivery, dead letters).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from redis.asyncio import Redis
from taskiq import AsyncBroker

from taskiq_chaos.config import ChaosConfig

RECORD_TASK = "chaos.record"
BLOCK_TASK = "chaos.block_loop"


def build_broker(config: ChaosConfig) -> AsyncBroker:
    """The broker of ``config.kind`` on ``config.broker_url`` with a result backend."""
    if config.kind == "redis":
        return _redis(config)
    if config.kind == "rabbitmq":
        return _rabbitmq(config)
    if config.kind == "kafka":
        return _kafka(config)
    return _nats(config)


# Each builder imports only its own broker package: a worker child starts faster.


def _redis(config: ChaosConfig) -> AsyncBroker:
    from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

    broker = RedisStreamBroker(
        config.broker_url,
        queue_name=config.queue,
        idle_timeout=config.redelivery_ms,
        xread_block=1000,
    )
    backend: Any = RedisAsyncResultBackend(
        config.results_url, prefix_str=config.queue, result_ex_time=3600
    )
    return broker.with_result_backend(backend)


def rabbit_names(queue: str) -> dict[str, str]:
    """The exchange and queues a RabbitMQ scenario declares (all deleted afterwards)."""
    return {"exchange": f"{queue}.x", "queue": f"{queue}.q"}


def _rabbitmq(config: ChaosConfig) -> AsyncBroker:
    from taskiq_aio_pika import AioPikaBroker
    from taskiq_redis import RedisAsyncResultBackend

    names = rabbit_names(config.queue)
    broker = AioPikaBroker(
        config.broker_url,
        exchange_name=names["exchange"],
        queue_name=names["queue"],
        qos=config.qos,
        connection_name=f"{config.queue}-{os.getpid()}",
    )
    backend: Any = RedisAsyncResultBackend(
        config.results_url, prefix_str=config.queue, result_ex_time=3600
    )
    return broker.with_result_backend(backend)


def nats_names(queue: str) -> dict[str, str]:
    """Stream, subject, durable and bucket of a NATS scenario."""
    return {
        "stream": f"chaos_{queue}",
        "subject": f"chaos.{queue}",
        "durable": f"chaos_{queue}",
        "bucket": f"chaos_{queue}_results",
    }


def _nats(config: ChaosConfig) -> AsyncBroker:
    from taskiq_nats import NATSKeyValueResultBackend, PullBasedJetStreamBroker

    names = nats_names(config.queue)
    broker = PullBasedJetStreamBroker(
        config.broker_url,
        subject=names["subject"],
        stream_name=names["stream"],
        durable=names["durable"],
        ack_wait=config.redelivery_ms / 1000,
    )
    backend: Any = NATSKeyValueResultBackend(config.results_url, bucket_name=names["bucket"])
    return broker.with_result_backend(backend)


def kafka_names(queue: str) -> dict[str, str]:
    """Topic and consumer group of a Kafka scenario (on a server of its own)."""
    return {"topic": f"{queue}.tasks", "group": f"{queue}.workers"}


#: Partitions of the Kafka task topic: one per worker child and to spare.
KAFKA_PARTITIONS = 4


def _kafka(config: ChaosConfig) -> AsyncBroker:
    from taskiq_aio_kafka import AioKafkaBroker, Topic, TopicConfig
    from taskiq_redis import RedisAsyncResultBackend

    names = kafka_names(config.queue)
    broker = AioKafkaBroker(
        bootstrap_servers=config.broker_url,
        kafka_topic=Topic(names["topic"], TopicConfig(num_partitions=KAFKA_PARTITIONS)),
    )
    # A SIGKILLed member leaves the group after its session timeout: the redelivery pace.
    broker.configure_consumer(
        group_id=names["group"],
        session_timeout_ms=max(config.redelivery_ms * 3, 6000),
        heartbeat_interval_ms=500,
    )
    backend: Any = RedisAsyncResultBackend(
        config.results_url, prefix_str=config.queue, result_ex_time=3600
    )
    return broker.with_result_backend(backend)


class RunRecorder:
    """Appends ``<seq> <pid> <unix time>`` to a list on the shared Redis for every task run."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self.key = key
        self._client: Redis | None = None

    async def note(self, seq: int) -> None:
        if self._client is None:
            self._client = Redis.from_url(self.url)
        await self._client.rpush(self.key, f"{seq} {os.getpid()} {time.time():.3f}")


def register_tasks(broker: AsyncBroker, recorder: RunRecorder) -> None:
    """The tasks every scenario sends: a short one, and one that blocks the event loop."""

    @broker.task(task_name=RECORD_TASK)
    async def record(seq: int, pause: float = 0.0) -> int:
        await asyncio.sleep(pause)
        await recorder.note(seq)
        return seq

    @broker.task(task_name=BLOCK_TASK)
    async def block_loop(seq: int, seconds: float) -> int:
        time.sleep(seconds)  # noqa: ASYNC251 - on purpose: the scenario is about a blocked event loop
        await recorder.note(seq)
        return seq
