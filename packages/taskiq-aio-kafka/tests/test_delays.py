"""`DelayedMover`: a delay-topic record is moved to its topic when due, exactly then."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError
from taskiq_aio_kafka import delays
from taskiq_aio_kafka import headers as hdr
from taskiq_aio_kafka.delays import DelayedMover


@dataclass(frozen=True)
class FakeRecord:
    offset: int
    headers: Sequence[tuple[str, bytes]] = field(default_factory=tuple)
    key: bytes | None = b"k"
    topic: str = "t-delayed"
    partition: int = 0
    value: bytes | None = b"payload"


def delayed(offset: int, seconds: float, target: str = "tasks") -> FakeRecord:
    return FakeRecord(
        offset,
        headers=hdr.encode(
            {
                hdr.NOT_BEFORE: f"{time.time() + seconds:.3f}",
                hdr.TARGET_TOPIC: target,
                hdr.TASK_ID: "id",
            }
        ),
    )


async def until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        await asyncio.sleep(0.01)


async def test_due_record_is_moved_with_its_key_and_without_delay_headers() -> None:
    sent: list[tuple[str, bytes, bytes | None, dict[str, str], float]] = []
    finished: list[int] = []

    async def send(topic: str, value: bytes, key: bytes | None, headers: dict[str, str]) -> None:
        sent.append((topic, value, key, headers, time.monotonic()))

    mover = DelayedMover(send, lambda record: finished.append(record.offset))
    start = time.monotonic()
    mover.hold(delayed(3, 0.3))  # type: ignore[arg-type]
    assert mover.waiting == 1
    await until(lambda: finished)
    ((topic, value, key, headers, when),) = sent
    assert (topic, value, key, headers) == ("tasks", b"payload", b"k", {hdr.TASK_ID: "id"})
    assert when - start >= 0.25
    assert finished == [3]
    await until(lambda: mover.waiting == 0)


async def test_a_failed_move_is_retried(monkeypatch: Any) -> None:
    monkeypatch.setattr(delays, "RETRY_PAUSE", 0.01)
    attempts: list[str] = []
    finished: list[int] = []

    async def send(topic: str, value: bytes, key: bytes | None, headers: dict[str, str]) -> None:
        attempts.append(topic)
        if len(attempts) < 3:
            raise KafkaConnectionError("down")

    mover = DelayedMover(send, lambda record: finished.append(record.offset))
    mover.hold(delayed(1, 0))  # type: ignore[arg-type]
    await until(lambda: finished)
    assert attempts == ["tasks"] * 3


async def test_forget_and_stop_leave_records_unfinished() -> None:
    finished: list[int] = []

    async def send(topic: str, value: bytes, key: bytes | None, headers: dict[str, str]) -> None:
        raise AssertionError("nothing is due")

    mover = DelayedMover(send, lambda record: finished.append(record.offset))
    mover.hold(delayed(1, 30))  # type: ignore[arg-type]
    mover.hold(FakeRecord(2, headers=delayed(2, 30).headers, partition=1))  # type: ignore[arg-type]
    mover.forget({TopicPartition("t-delayed", 0)})
    await until(lambda: mover.waiting == 1)
    await mover.stop()
    assert mover.waiting == 0
    assert finished == []
