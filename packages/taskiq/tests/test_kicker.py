"""AsyncKicker: per-call labels, ids and brokers, and every way a send can fail."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Annotated, Any

import pytest
from taskiq import (
    AsyncKicker,
    BrokerMessage,
    Context,
    InMemoryBroker,
    SendTaskError,
    TaskiqDepends,
    TaskiqState,
    UnknownTaskError,
)

sys.path.insert(0, str(Path(__file__).parent / "support"))
from recording_broker import RecordingBroker


class RefusingBroker(RecordingBroker):
    async def kick(self, message: BrokerMessage) -> None:
        raise ConnectionResetError("connection reset by peer")


def sent_labels(broker: RecordingBroker) -> dict[str, Any]:
    return broker.formatter.loads(broker.sent[-1].message).labels


async def test_with_labels_changes_only_this_call() -> None:
    broker = RecordingBroker()

    @broker.task(priority=1)
    async def task() -> None:
        """No-op."""

    await task.kicker().with_labels(priority=9, delay=5).kiq()
    assert sent_labels(broker) == {"priority": 9, "delay": 5}
    assert broker.sent[-1].labels == {"priority": 9, "delay": 5}
    await task.kiq()
    assert sent_labels(broker) == {"priority": 1}


async def test_with_task_id_sets_the_id_of_the_message_and_handle() -> None:
    broker = RecordingBroker()

    @broker.task
    async def task() -> None:
        """No-op."""

    sent = await task.kicker().with_task_id("order-42").kiq()
    assert sent.task_id == "order-42"
    assert broker.sent[-1].task_id == "order-42"


def test_with_schedule_id_is_kept_for_scheduling() -> None:
    broker = RecordingBroker()
    kicker = AsyncKicker("t", broker, {}).with_schedule_id("nightly")
    assert kicker.custom_schedule_id == "nightly"


async def test_with_broker_sends_through_the_other_broker() -> None:
    first, second = RecordingBroker(), RecordingBroker()

    @first.task
    async def task() -> None:
        """No-op."""

    await task.kicker().with_broker(second).kiq()
    assert (len(first.sent), len(second.sent)) == (0, 1)


async def test_kicking_a_known_task_by_name_runs_it() -> None:
    broker = InMemoryBroker()

    @broker.task(task_name="by-name:add")
    async def add(a: int, b: int) -> int:
        return a + b

    await broker.startup()
    sent = await AsyncKicker("by-name:add", broker, {}).kiq(2, 3)
    result = await sent.wait_result(timeout=10)
    await broker.shutdown()
    assert result.return_value == 5


async def test_kicking_an_unknown_task_by_name_raises_unknown_task_error() -> None:
    broker = InMemoryBroker()
    await broker.startup()
    with pytest.raises(UnknownTaskError, match="'unknown:task'") as caught:
        await AsyncKicker("unknown:task", broker, {}).kiq()
    await broker.shutdown()
    assert "import" in str(caught.value).lower()


async def test_arguments_that_do_not_bind_raise_send_task_error() -> None:
    broker = RecordingBroker()

    @broker.task
    async def add(a: int, b: int) -> int:
        return a + b

    with pytest.raises(SendTaskError, match="Arguments do not match task"):
        await add.kiq(1)  # type: ignore[call-overload]
    with pytest.raises(SendTaskError, match="unexpected keyword argument 'c'"):
        await add.kiq(1, 2, c=3)  # type: ignore[call-overload]
    with pytest.raises(SendTaskError, match="too many positional"):
        await add.kiq(1, 2, 3)  # type: ignore[call-overload]
    assert broker.sent == []


class Opaque:
    """Neither JSON nor a pydantic model."""


async def test_unserializable_positional_argument_is_named() -> None:
    broker = RecordingBroker()

    @broker.task
    async def store(key: str, value: Any, when: datetime.date) -> None:
        """No-op."""

    with pytest.raises(SendTaskError, match="Cannot serialize argument 'value'") as caught:
        await store.kiq("k", Opaque(), datetime.date(2024, 1, 1))
    assert getattr(caught.value, "culprit", None) == "argument 'value'"
    assert broker.sent == []


async def test_unserializable_keyword_argument_is_named() -> None:
    broker = RecordingBroker()

    @broker.task
    async def store(key: str, value: Any = None) -> None:
        """No-op."""

    with pytest.raises(SendTaskError, match="Cannot serialize argument 'value'"):
        await store.kiq("k", value=Opaque())


async def test_unserializable_label_is_named() -> None:
    broker = RecordingBroker()

    @broker.task
    async def task() -> None:
        """No-op."""

    with pytest.raises(SendTaskError, match="Cannot serialize label 'meta'"):
        await task.kicker().with_labels(meta=Opaque()).kiq()


async def test_unserializable_extra_positional_argument_is_named_by_position() -> None:
    broker = RecordingBroker()

    @broker.task
    async def many(*values: Any) -> None:
        """No-op."""

    with pytest.raises(SendTaskError, match="Cannot serialize argument '#1'"):
        await many.kiq(1, Opaque())


async def test_broker_failure_becomes_send_task_error_chained_from_it() -> None:
    broker = RefusingBroker()

    @broker.task
    async def task() -> None:
        """No-op."""

    with pytest.raises(SendTaskError, match="nothing was sent") as caught:
        await task.kiq()
    assert isinstance(caught.value.__cause__, ConnectionResetError)


async def test_send_task_error_from_the_broker_passes_through_unchanged() -> None:
    original = SendTaskError("queue is full; retry later")

    class FullBroker(RecordingBroker):
        async def kick(self, message: BrokerMessage) -> None:
            raise original

    broker = FullBroker()

    @broker.task
    async def task() -> None:
        """No-op."""

    with pytest.raises(SendTaskError) as caught:
        await task.kiq()
    assert caught.value is original


async def test_injected_parameters_are_not_required_from_the_caller() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def named(
        value: int,
        context: Annotated[Context, TaskiqDepends()],
        state: TaskiqState = TaskiqDepends(),
    ) -> str:
        return f"{value} {context.message.task_name} {type(state).__name__}"

    await broker.startup()
    result = await (await named.kiq(1)).wait_result(timeout=20)
    await broker.shutdown()
    assert result.return_value == f"1 {named.task_name} TaskiqState"
