"""TaskiqMessage and BrokerMessage: the shapes a task call takes."""

from __future__ import annotations

import json
from pathlib import Path

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


DOCS_PAGE = Path(__file__).resolve().parents[3] / "docs" / "serialization.md"


def test_documented_wire_schema_is_the_message_schema() -> None:
    text = DOCS_PAGE.read_text()
    documented = text.split("<!-- wire-schema -->\n```json\n", 1)[1].split("```", 1)[0]
    assert json.loads(documented) == TaskiqMessage.model_json_schema()


def test_documented_example_payload_is_a_valid_message() -> None:
    text = DOCS_PAGE.read_text()
    example = text.split("```json\n", 1)[1].split("```", 1)[0]
    message = TaskiqMessage.model_validate_json(example)
    assert (message.task_name, message.kwargs) == ("shop:charge", {"cents": 250})
