"""When the receiver acknowledges a delivery: the four ack types and the label override."""

from __future__ import annotations

from typing import Any

import pytest
from taskiq import (
    AckableMessage,
    AcknowledgeType,
    Context,
    InMemoryBroker,
    InmemoryResultBackend,
    Receiver,
    TaskiqDepends,
    TaskiqResult,
)
from taskiq.message import TaskiqMessage


class RecordingBackend(InmemoryResultBackend):
    """Stores results and notes when it did, in the shared event log."""

    def __init__(self, log: list[str], fail: bool = False) -> None:
        super().__init__()
        self.log = log
        self.fail = fail

    async def set_result(self, task_id: str, result: TaskiqResult[Any]) -> None:
        if self.fail:
            raise ConnectionError("result store is down")
        self.log.append("save")
        await super().set_result(task_id, result)


def make(ack_type: AcknowledgeType | None, fail_saving: bool = False) -> tuple[Any, ...]:
    log: list[str] = []
    broker = InMemoryBroker().with_result_backend(RecordingBackend(log, fail_saving))
    receiver = Receiver(broker, ack_type=ack_type)
    return broker, receiver, log


def delivery(broker: Any, task_name: str, log: list[str], **labels: Any) -> AckableMessage:
    message = TaskiqMessage(task_id="t1", task_name=task_name, labels=labels)
    data = broker.formatter.dumps(message).message

    def ack() -> None:
        log.append("ack")

    async def reject() -> None:
        log.append("reject")

    async def nack() -> None:
        log.append("nack")

    return AckableMessage(data=data, ack=ack, reject=reject, nack=nack)


@pytest.mark.parametrize(
    ("ack_type", "expected"),
    [
        (AcknowledgeType.WHEN_RECEIVED, ["ack", "run", "save"]),
        (AcknowledgeType.WHEN_EXECUTED, ["run", "ack", "save"]),
        (AcknowledgeType.WHEN_SAVED, ["run", "save", "ack"]),
        (None, ["run", "save", "ack"]),
        (AcknowledgeType.MANUAL, ["run", "save", "nack"]),
    ],
)
async def test_ack_type_decides_when_the_delivery_is_acked(
    ack_type: AcknowledgeType | None,
    expected: list[str],
) -> None:
    broker, receiver, log = make(ack_type)

    @broker.task(task_name="job")
    def job() -> None:
        log.append("run")

    await receiver.callback(delivery(broker, "job", log))
    assert log == expected


async def test_manual_ack_happens_when_the_task_says_so() -> None:
    broker, receiver, log = make(AcknowledgeType.MANUAL)

    @broker.task(task_name="job")
    async def job(context: Context = TaskiqDepends()) -> None:
        log.append("run")
        await context.ack()
        await context.ack()
        log.append("after ack")

    await receiver.callback(delivery(broker, "job", log))
    assert log == ["run", "ack", "after ack", "save"]


async def test_ack_type_label_overrides_the_worker_setting() -> None:
    broker, receiver, log = make(AcknowledgeType.WHEN_SAVED)

    @broker.task(task_name="job", ack_type="when_received")
    def job() -> None:
        log.append("run")

    await receiver.callback(delivery(broker, "job", log))
    assert log == ["ack", "run", "save"]


async def test_per_message_label_overrides_the_task_label() -> None:
    broker, receiver, log = make(None)

    @broker.task(task_name="job", ack_type="when_received")
    def job() -> None:
        log.append("run")

    await receiver.callback(delivery(broker, "job", log, ack_type="when_executed"))
    assert log == ["run", "ack", "save"]


async def test_unknown_ack_type_label_falls_back_to_the_worker_setting() -> None:
    broker, receiver, log = make(AcknowledgeType.WHEN_EXECUTED)

    @broker.task(task_name="job", ack_type="whenever")
    def job() -> None:
        log.append("run")

    await receiver.callback(delivery(broker, "job", log))
    assert log == ["run", "ack", "save"]


async def test_failing_task_is_still_acked_after_its_error_is_saved() -> None:
    broker, receiver, log = make(None)

    @broker.task(task_name="job")
    def job() -> None:
        log.append("run")
        raise ValueError("boom")

    result = await receiver.callback(delivery(broker, "job", log))
    assert log == ["run", "save", "ack"]
    assert result is not None
    assert isinstance(result.error, ValueError)


async def test_when_saved_hands_back_a_delivery_whose_result_cannot_be_stored() -> None:
    broker, receiver, log = make(None, fail_saving=True)

    @broker.task(task_name="job")
    def job() -> None:
        log.append("run")

    await receiver.callback(delivery(broker, "job", log))
    assert log == ["run", "nack"]


async def test_without_a_nack_callback_an_unsettled_delivery_is_left_alone() -> None:
    broker, receiver, log = make(None, fail_saving=True)

    @broker.task(task_name="job")
    def job() -> None:
        log.append("run")

    message = delivery(broker, "job", log)
    message.nack = None
    await receiver.callback(message)
    assert log == ["run"]


async def test_reject_without_a_reject_callback_acks() -> None:
    _, receiver, _ = make(None)
    acked: list[bool] = []

    async def ack() -> None:
        acked.append(True)

    await receiver.callback(AckableMessage(data=b"not json", ack=ack))
    assert acked == [True]


async def test_ack_type_accepts_strings() -> None:
    assert Receiver(InMemoryBroker(), ack_type="when_executed").ack_type is (
        AcknowledgeType.WHEN_EXECUTED
    )
