"""`describe()`: what the worker's start-up banner shows about a Kafka broker."""

from __future__ import annotations

from taskiq_aio_kafka import AioKafkaBroker


def test_names_servers_topics_and_group() -> None:
    broker = AioKafkaBroker(
        bootstrap_servers=["10.0.0.1:9092", "10.0.0.2:9092"],
        kafka_topic="jobs",
        kafka_topics=["emails"],
    )
    broker.configure_consumer(group_id="workers")
    assert broker.describe() == {
        "url": "10.0.0.1:9092,10.0.0.2:9092",
        "topics": "jobs, emails",
        "consumer group": "workers",
    }


def test_a_password_in_a_server_url_is_masked() -> None:
    broker = AioKafkaBroker(bootstrap_servers="kafka://user:secret@127.0.0.1:9092")
    assert broker.describe()["url"] == "kafka://user:***@127.0.0.1:9092"
    assert broker.describe()["consumer group"] == "taskiq"
