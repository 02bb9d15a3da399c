"""async_shared_broker: tasks declared in a library, sent through the app's broker."""

from __future__ import annotations

import uuid
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest
from taskiq import (
    AsyncTaskiqDecoratedTask,
    InMemoryBroker,
    SendTaskError,
    SharedBrokerSendTaskError,
)
from taskiq.brokers.shared_broker import AsyncSharedBroker, async_shared_broker


@pytest.fixture(autouse=True)
def no_default_broker() -> Iterator[None]:
    """The shared broker is process-wide: leave it as we found it."""
    async_shared_broker._default_broker = None
    yield
    async_shared_broker._default_broker = None


def shared_double() -> AsyncTaskiqDecoratedTask[[int], Coroutine[Any, Any, int]]:
    @async_shared_broker.task(task_name=f"shared:double:{uuid.uuid4().hex}")
    async def double(value: int) -> int:
        return value * 2

    return double


def test_the_documented_import_path_gives_the_shared_broker() -> None:
    import taskiq

    assert isinstance(async_shared_broker, AsyncSharedBroker)
    assert taskiq.async_shared_broker is async_shared_broker


async def test_kiq_without_a_default_broker_raises_a_clear_error() -> None:
    double = shared_double()
    with pytest.raises(SharedBrokerSendTaskError, match=r"default_broker\(your_broker\)"):
        await double.kiq(1)


async def test_shared_task_runs_through_the_default_broker() -> None:
    double = shared_double()
    broker = InMemoryBroker()
    async_shared_broker.default_broker(broker)
    await broker.startup()
    result = await (await double.kiq(21)).wait_result(timeout=20)
    await broker.shutdown()
    assert result.return_value == 42


async def test_with_broker_sends_a_shared_task_without_a_default() -> None:
    double = shared_double()
    broker = InMemoryBroker()
    await broker.startup()
    kicker = double.kicker().with_broker(broker)
    result = await (await kicker.kiq(5)).wait_result(timeout=20)
    await broker.shutdown()
    assert result.return_value == 10


def test_every_broker_can_find_shared_tasks() -> None:
    double = shared_double()
    name = double.task_name
    assert InMemoryBroker().find_task(name) is double
    assert name in InMemoryBroker().get_all_tasks()


def test_shared_errors_are_send_task_errors() -> None:
    assert issubclass(SharedBrokerSendTaskError, SendTaskError)
