"""The broker against the real Kafka-API server, with an in-process receiver."""

from __future__ import annotations

from typing import Any

import pytest
from taskiq import InMemoryBroker  # noqa: F401  (keeps the import path checked)
from taskiq_aio_kafka import AioKafkaBroker, Topic, TopicConfig

pytestmark = pytest.mark.service("kafka")


def make_broker(url: str, names: Any, **kwargs: Any) -> AioKafkaBroker:
    broker = AioKafkaBroker(bootstrap_servers=url, kafka_topic=names.topic(), **kwargs)
    broker.configure_consumer(group_id=names.group())
    return broker


async def test_round_trip_in_process(kafka_url: str, names: Any, run_worker: Any, eventually: Any) -> None:
    broker = make_broker(kafka_url, names)
    seen: list[int] = []

    @broker.task
    async def record(value: int) -> int:
        seen.append(value)
        return value * 2

    async with run_worker(broker, max_async_tasks=10):
        for i in range(20):
            await record.kiq(i)
        await eventually(lambda: len(seen) >= 20)
    assert sorted(seen) == list(range(20))
