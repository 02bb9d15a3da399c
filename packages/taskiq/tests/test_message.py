"""TaskiqMessage and BrokerMessage: the shapes a task call takes."""

from __future__ import annotations

from taskiq import BrokerMessage, TaskiqMessage
from taskiq.message import BrokerMessage as FromModule


def test_taskiq_message_defaults() -> None:
    message = TaskiqMessage(task_id="1", task_name="m:t")
    assert (message.labels, message.args, message.kwargs) == ({}, [], {})
    assert message.labels_types is None


def test_taskiq_message_accepts_tuples_for_args() -> None:
    message = TaskiqMessage.model_validate(
        {"task_id": "1", "task_name": "m:t", "args": (1, 2), "kwargs": {"a": 1}},
    )
    assert message.args == [1, 2]


def test_broker_message_fields() -> None:
    message = BrokerMessage(task_id="1", task_name="m:t", message=b"{}", labels={"delay": "5"})
    assert (message.task_id, message.task_name, message.message) == ("1", "m:t", b"{}")
    assert message.labels == {"delay": "5"}
    assert FromModule is BrokerMessage
    assert BrokerMessage("1", "m:t", b"").labels == {}
