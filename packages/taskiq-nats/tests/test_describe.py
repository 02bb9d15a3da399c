"""`describe()`: what the worker's start-up banner shows about a NATS broker."""

from __future__ import annotations

from taskiq_nats import JetStreamBroker, NatsBroker


def test_jetstream_broker_names_the_queue_s_stream_subject_and_consumer() -> None:
    described = JetStreamBroker("nats://user:pw@127.0.0.1:4222", queue="jobs").describe()
    assert described["url"] == "nats://***@127.0.0.1:4222"
    assert described["stream"] == "taskiq_jetstream_jobs"
    assert described["subject"] == "taskiq_tasks.jobs"
    assert described["consumer"] == "jobs"


def test_a_token_in_the_url_is_hidden_too() -> None:
    described = JetStreamBroker("nats://s3cret-token@127.0.0.1:4222").describe()
    assert "s3cret" not in described["url"]


def test_core_broker_masks_every_server_of_a_list() -> None:
    broker = NatsBroker(["nats://u:pw@h1:4222", "nats://h2:4222"], queue="group")
    assert broker.describe() == {
        "url": "nats://***@h1:4222, nats://h2:4222",
        "subject": "taskiq_tasks",
        "queue group": "group",
    }
