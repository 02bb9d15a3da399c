"""`describe()`: what the worker's start-up banner shows about a NATS broker."""

from __future__ import annotations

from taskiq_nats import JetStreamBroker, NatsBroker


def test_jetstream_broker_names_stream_subject_and_consumer_with_password_masked() -> None:
    described = JetStreamBroker("nats://user:pw@127.0.0.1:4222", queue="jobs").describe()
    assert described["url"] == "nats://user:***@127.0.0.1:4222"
    assert described["stream"] == "taskiq_jetstream"
    assert described["subject"] == "taskiq_tasks"
    assert "consumer" in described


def test_core_broker_masks_every_server_of_a_list() -> None:
    broker = NatsBroker(["nats://u:pw@h1:4222", "nats://h2:4222"], queue="group")
    assert broker.describe() == {
        "url": "nats://u:***@h1:4222,nats://h2:4222",
        "subject": "taskiq_tasks",
        "queue group": "group",
    }
