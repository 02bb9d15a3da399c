"""The banner's rows and URL masking, without a process (see taskiq-redis test_worker_logs)."""

from __future__ import annotations

import pytest
from taskiq import InMemoryBroker
from taskiq.cli.worker.args import WorkerArgs
from taskiq.cli.worker.banner import banner_rows
from taskiq.urls import mask_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:secret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("amqp://guest:guest@localhost:5672/", "amqp://guest:***@localhost:5672/"),
        ("nats://a:b@h1:4222,nats://h2:4222", "nats://a:***@h1:4222,nats://h2:4222"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://user@host/0", "redis://user@host/0"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url_hides_only_the_password(url: str, shown: str) -> None:
    assert mask_url(url) == shown


class LeakyBroker(InMemoryBroker):
    def describe(self) -> dict[str, str]:
        return {"url": "redis://:hunter2@host:6379/0", "queue": "jobs"}


def test_default_describe_leaves_the_class_name_and_many_tasks_are_counted() -> None:
    broker = InMemoryBroker()
    for number in range(21):
        broker.register_task(lambda: None, task_name=f"task_{number}")
    rows = dict(banner_rows(broker, WorkerArgs(broker="app:broker")))
    assert rows["broker"] == "InMemoryBroker"
    assert "url" not in rows
    # get_all_tasks() also lists shared tasks other tests declared: count what the broker sees.
    assert rows["tasks"] == f"{len(broker.get_all_tasks())} registered"
    assert len(broker.get_all_tasks()) >= 21
    assert rows["processes"] == "2"
    assert rows["ack type"] == "when_saved"


def test_a_url_a_broker_forgot_to_mask_is_masked_by_the_banner() -> None:
    rows = dict(banner_rows(LeakyBroker(), WorkerArgs(broker="app:broker", workers=3)))
    assert rows["url"] == "redis://:***@host:6379/0"
    assert rows["queue"] == "jobs"
    assert rows["processes"] == "3"


def test_a_broker_without_tasks_says_so() -> None:
    broker = LeakyBroker()
    broker.get_all_tasks = dict  # type: ignore[method-assign]  # shared tasks of other tests
    rows = dict(banner_rows(broker, WorkerArgs(broker="app:broker")))
    assert rows["tasks"].startswith("none registered")
