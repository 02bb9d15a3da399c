"""Formatters: the default ProxyFormatter and JSONFormatter encode the same message."""

from __future__ import annotations

import datetime
import json
import uuid

import pytest
from pydantic import BaseModel
from taskiq import InMemoryBroker, TaskiqFormatter, TaskiqMessage
from taskiq.formatters import JSONFormatter, ProxyFormatter
from taskiq.formatters.json_formatter import JSONFormatter as FromModule
from taskiq.serializers import MSGPackSerializer


class Point(BaseModel):
    x: int
    y: int


def message() -> TaskiqMessage:
    return TaskiqMessage(
        task_id="id-1",
        task_name="mod:task",
        labels={"priority": 2},
        args=[Point(x=1, y=2), datetime.date(2024, 5, 6)],
        kwargs={"key": uuid.UUID(int=1)},
    )


EXPECTED_WIRE = {
    "task_id": "id-1",
    "task_name": "mod:task",
    "labels": {"priority": 2},
    "labels_types": None,
    "args": [{"x": 1, "y": 2}, "2024-05-06"],
    "kwargs": {"key": "00000000-0000-0000-0000-000000000001"},
}


@pytest.mark.parametrize("formatter_cls", [JSONFormatter, "proxy"], ids=["json", "proxy"])
def test_json_wire_format(formatter_cls: type[TaskiqFormatter] | str) -> None:
    formatter = ProxyFormatter(InMemoryBroker()) if formatter_cls == "proxy" else JSONFormatter()
    encoded = formatter.dumps(message())
    assert (encoded.task_id, encoded.task_name, encoded.labels) == (
        "id-1",
        "mod:task",
        {"priority": 2},
    )
    assert json.loads(encoded.message) == EXPECTED_WIRE
    decoded = formatter.loads(encoded.message)
    assert decoded.model_dump() == EXPECTED_WIRE


def test_proxy_formatter_follows_a_later_with_serializer() -> None:
    broker = InMemoryBroker()
    formatter = broker.formatter
    broker.with_serializer(MSGPackSerializer())
    encoded = formatter.dumps(message())
    assert MSGPackSerializer().loadb(encoded.message) == EXPECTED_WIRE


@pytest.mark.parametrize("payload", [b"not json", b"[]", b'{"task_id": "x"}'])
def test_malformed_payloads_raise_value_error(payload: bytes) -> None:
    for formatter in (JSONFormatter(), ProxyFormatter(InMemoryBroker())):
        with pytest.raises(ValueError):
            formatter.loads(payload)


async def test_json_formatter_runs_tasks_end_to_end() -> None:
    broker = InMemoryBroker().with_formatter(FromModule())

    @broker.task
    async def add(a: int, b: int) -> int:
        return a + b

    await broker.startup()
    result = await (await add.kiq(2, b=3)).wait_result(timeout=20)
    await broker.shutdown()
    assert result.return_value == 5
