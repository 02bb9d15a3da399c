"""The package's public surface: what users import, with Taskiq's names and defaults."""

from __future__ import annotations

import inspect

import taskiq_aio_pika
from taskiq_aio_pika import AioPikaBroker, ExchangeType


def test_exported_names() -> None:
    assert sorted(taskiq_aio_pika.__all__) == [
        "AioPikaBroker",
        "DeadLetter",
        "Exchange",
        "ExchangeType",
        "Queue",
        "QueueArgumentsMismatchError",
        "QueueType",
        "TopologyError",
        "mask_url",
    ]
    for name in taskiq_aio_pika.__all__:
        assert getattr(taskiq_aio_pika, name) is not None


def test_taskiq_aio_pika_parameters_keep_their_names_order_and_defaults() -> None:
    parameters = list(inspect.signature(AioPikaBroker).parameters.values())
    expected = [
        ("url", None),
        ("result_backend", None),
        ("task_id_generator", None),
        ("qos", 10),
        ("loop", None),
        ("exchange_name", "taskiq"),
        ("queue_name", "taskiq"),
        ("dead_letter_queue_name", None),
        ("delay_queue_name", None),
        ("declare_exchange", True),
        ("declare_queues", True),
        ("routing_key", "#"),
        ("exchange_type", ExchangeType.TOPIC),
        ("max_priority", None),
        ("delayed_message_exchange_plugin", False),
    ]
    assert [(p.name, p.default) for p in parameters[: len(expected)]] == expected
    assert parameters[-1].kind is inspect.Parameter.VAR_KEYWORD
    added = [p for p in parameters[len(expected) : -1]]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in added)


def test_default_names_follow_taskiq() -> None:
    broker = AioPikaBroker()
    assert broker.url == "amqp://guest:guest@localhost:5672/"
    assert broker.dead_letter_queues == {"taskiq": "taskiq.dead_letter"}
    assert broker.delays.queue_prefix == "taskiq.delay"
    assert broker.listen_queues == ["taskiq"]
