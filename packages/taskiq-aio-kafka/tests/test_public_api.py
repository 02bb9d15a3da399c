"""The curated public surface of taskiq_aio_kafka, including Taskiq's documented names."""

from __future__ import annotations

import inspect

import taskiq_aio_kafka
from taskiq_aio_kafka import AioKafkaBroker
from taskiq_aio_kafka.topic import Topic, TopicConfig


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in dir(taskiq_aio_kafka) if not name.startswith("_")}
    modules = {name for name in public if inspect.ismodule(getattr(taskiq_aio_kafka, name))}
    assert set(taskiq_aio_kafka.__all__) == public - modules


def test_taskiq_documented_constructor() -> None:
    parameters = inspect.signature(AioKafkaBroker).parameters
    assert list(parameters)[:8] == [
        "bootstrap_servers",
        "kafka_topic",
        "kafka_topics",
        "result_backend",
        "task_id_generator",
        "kafka_admin_client",
        "loop",
        "delete_topic_on_shutdown",
    ]
    assert parameters["delete_topic_on_shutdown"].default is False


def test_taskiq_topic_import_path() -> None:
    assert Topic is taskiq_aio_kafka.Topic
    assert TopicConfig().num_partitions == 1


def test_task_topic_is_a_default_label_and_a_listened_topic() -> None:
    broker = AioKafkaBroker(bootstrap_servers="localhost", kafka_topic="default-topic")

    @broker.task(topic=Topic("emails"))
    async def send_email(user_id: int) -> None: ...

    @broker.task
    async def regular() -> None: ...

    assert set(broker.topics) == {"default-topic", "emails"}
    assert send_email.labels[broker.task_topic_label] == "emails"
    kicker = send_email.kicker().with_topic("reports").with_key("k")
    assert kicker.labels[broker.task_topic_label] == "reports"
    assert kicker.labels["kafka_key"] == "k"
    assert broker.task_topic_label not in regular.labels


def test_producer_acks_all_unless_configured() -> None:
    broker = AioKafkaBroker()
    assert broker.producer_options == {"acks": "all"}
    broker.configure_producer(request_timeout_ms=100000)
    assert broker.producer_options == {"acks": "all", "request_timeout_ms": 100000}
    broker.configure_producer(acks=1)
    assert broker.producer_options["acks"] == 1


def test_consumer_never_auto_commits() -> None:
    broker = AioKafkaBroker()
    broker.configure_consumer(group_id="g", enable_auto_commit=True)
    assert broker.consumer_options == {"group_id": "g", "auto_offset_reset": "earliest"}


def test_rebalance_timeout_outlasts_revoke_timeout() -> None:
    broker = AioKafkaBroker(revoke_timeout=30)
    assert broker._group_options()["rebalance_timeout_ms"] == 40_000
    broker.configure_consumer(group_id="g", rebalance_timeout_ms=5000)
    assert broker._group_options()["rebalance_timeout_ms"] == 5000  # given: kept (and logged)
    unbounded = AioKafkaBroker(revoke_timeout=None)
    assert "rebalance_timeout_ms" not in unbounded._group_options()
