"""The curated public surface of taskiq_nats, including Taskiq's documented names."""

from __future__ import annotations

import inspect

import taskiq_nats


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in dir(taskiq_nats) if not name.startswith("_")}
    modules = {name for name in public if inspect.ismodule(getattr(taskiq_nats, name))}
    assert set(taskiq_nats.__all__) == public - modules


def test_taskiq_documented_signatures() -> None:
    pull = inspect.signature(taskiq_nats.PullBasedJetStreamBroker)
    assert list(pull.parameters)[:10] == [
        "servers",
        "subject",
        "stream_name",
        "queue",
        "durable",
        "stream_config",
        "consumer_config",
        "pull_consume_batch",
        "pull_consume_timeout",
        "result_backend",
    ]
    # None means "Taskiq's default, or the queue's own names" (see topology.py).
    assert pull.parameters["durable"].default is None
    plain = taskiq_nats.PullBasedJetStreamBroker("nats://127.0.0.1:4222")
    assert (plain.subject, plain.stream_name, plain.durable) == (
        "taskiq_tasks",
        "taskiq_jetstream",
        "taskiq_durable",
    )
    core = inspect.signature(taskiq_nats.NatsBroker)
    assert list(core.parameters)[:5] == [
        "servers",
        "subject",
        "queue",
        "result_backend",
        "task_id_generator",
    ]
    assert core.parameters["subject"].default == "taskiq_tasks"
    source = inspect.signature(taskiq_nats.NATSKeyValueScheduleSource)
    assert list(source.parameters)[:4] == ["servers", "bucket_name", "prefix", "serializer"]
    backend = inspect.signature(taskiq_nats.NATSObjectStoreResultBackend)
    assert list(backend.parameters)[:4] == ["servers", "keep_results", "bucket_name", "serializer"]
