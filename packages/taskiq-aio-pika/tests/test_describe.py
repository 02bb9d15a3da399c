"""`describe()`: what the worker's start-up banner shows about a RabbitMQ broker."""

from __future__ import annotations

from taskiq_aio_pika import AioPikaBroker


def test_names_exchange_and_queues_with_password_masked() -> None:
    broker = AioPikaBroker("amqp://guest:guest@127.0.0.1:5672/", queue_name="jobs")
    assert broker.describe() == {
        "url": "amqp://guest:***@127.0.0.1:5672/",
        "exchange": "taskiq (topic)",
        "queues": "jobs",
    }
