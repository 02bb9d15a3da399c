"""The core dead-letter contract: reasons, the value, finding a store, the receiver's part.

Each broker runs `taskiq.testing.dead_letter_contract` against its real server;
here is what the core decides by itself.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging

import pytest
from taskiq import (
    AckableMessage,
    Context,
    DeadLetter,
    InMemoryBroker,
    NotSupportedError,
    Receiver,
    TaskiqDepends,
    dead_letters_of,
)
from taskiq.control import (
    REJECTED_BY_TASK,
    ReasonKind,
    failed_times,
    malformed,
    reason_kind,
    unknown_task,
)
from taskiq.message import TaskiqMessage
from taskiq.receiver.delivery import Delivery


def test_the_reason_vocabulary() -> None:
    assert unknown_task("app:nope") == "unknown task 'app:nope'"
    assert malformed("bad\n  json") == "malformed: bad json"
    assert len(malformed("x" * 1000)) == len("malformed: ") + 200
    assert (failed_times(1), failed_times(5)) == ("failed 1 time", "failed 5 times")
    kinds = {
        "unknown task 'app:nope'": ReasonKind.UNKNOWN_TASK,
        "malformed: no data": ReasonKind.MALFORMED,
        REJECTED_BY_TASK: ReasonKind.REJECTED,
        "failed 5 times": ReasonKind.FAILED,
        "failed 1 time": ReasonKind.FAILED,
        "failed many times": ReasonKind.OTHER,
        "expired": ReasonKind.OTHER,
    }
    assert {text: reason_kind(text) for text in kinds} == kinds


def test_a_dead_letter_is_a_frozen_value_compared_without_details() -> None:
    moment = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    fields = dict(
        id="1",
        queue="q",
        task_id="t",
        task_name="app:nope",
        reason=unknown_task("app:nope"),
        delivery_count=1,
        time=moment,
        message=b"{}",
    )
    letter = DeadLetter(**fields, details={"origin": "{q}"})  # type: ignore[arg-type]
    assert letter == DeadLetter(**fields)  # type: ignore[arg-type]
    assert letter.kind is ReasonKind.UNKNOWN_TASK
    assert hash(letter) == hash(DeadLetter(**fields))  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        letter.reason = "other"  # type: ignore[misc]


def test_a_broker_without_dead_letters_says_so_in_one_line() -> None:
    with pytest.raises(NotSupportedError) as caught:
        dead_letters_of(InMemoryBroker())
    message = str(caught.value)
    assert "not supported by InMemoryBroker" in message
    assert "\n" not in message
    assert (caught.value.feature, caught.value.implementation) == (  # type: ignore[attr-defined]
        "dead letters",
        "InMemoryBroker",
    )


class Settlements:
    """Records how a hand-built delivery was settled."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def message(self, data: bytes, dead_letter: bool = True, reject: bool = True) -> AckableMessage:
        return AckableMessage(
            data=data,
            ack=lambda: self.calls.append("ack"),
            reject=(lambda: self.calls.append("reject")) if reject else None,
            dead_letter=(lambda reason: self.calls.append(f"dead: {reason}"))
            if dead_letter
            else None,
        )


async def test_reject_prefers_dead_letter_and_settles_once() -> None:
    record = Settlements()
    delivery = Delivery(record.message(b"x"))
    await delivery.reject("why")
    await delivery.reject("again")
    await delivery.ack()
    assert record.calls == ["dead: why"]
    assert delivery.dead_lettered


@pytest.mark.parametrize(
    ("dead_letter", "reject", "expected"),
    [(False, True, ["reject"]), (False, False, ["ack"])],
)
async def test_reject_falls_back_to_reject_then_ack(
    dead_letter: bool,
    reject: bool,
    expected: list[str],
) -> None:
    record = Settlements()
    delivery = Delivery(record.message(b"x", dead_letter=dead_letter, reject=reject))
    await delivery.reject("why")
    assert record.calls == expected
    assert not delivery.dead_lettered


async def test_the_receiver_gives_each_reason(caplog: pytest.LogCaptureFixture) -> None:
    broker = InMemoryBroker()

    @broker.task(task_name="app:refuses")
    def refuses(context: Context = TaskiqDepends()) -> None:
        context.reject()

    def payload(task_name: str) -> bytes:
        message = TaskiqMessage(task_id="t", task_name=task_name, labels={}, args=[], kwargs={})
        return broker.formatter.dumps(message).message

    record = Settlements()
    receiver = Receiver(broker)
    with caplog.at_level(logging.DEBUG):
        await receiver.callback(record.message(payload("app:nope")))
        await receiver.callback(record.message(payload(refuses.task_name)))
        await receiver.callback(record.message(b"\xff"))
    assert record.calls[:2] == ["dead: unknown task 'app:nope'", f"dead: {REJECTED_BY_TASK}"]
    assert record.calls[2].startswith("dead: malformed: ")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_without_dead_letters_the_receiver_logs_the_drop_at_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    record = Settlements()
    with caplog.at_level(logging.WARNING):
        await Receiver(InMemoryBroker()).callback(record.message(b"\xff", dead_letter=False))
    assert record.calls == ["reject"]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].startswith("Dropped a delivery")
