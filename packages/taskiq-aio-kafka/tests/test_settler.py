"""`Settler`: what ack, reject and nack of one record do, without a server.

A fake reader records which offsets were finished and what is in flight; the
dead-letter store is a list (or a failing function).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError
from taskiq_aio_kafka import headers as hdr
from taskiq_aio_kafka.settler import RetryPolicy, Settler


@dataclass(frozen=True)
class FakeRecord:
    offset: int
    key: bytes | None = None
    topic: str = "t"
    partition: int = 0
    value: bytes | None = b"payload"
    headers: Sequence[tuple[str, bytes]] = field(default_factory=tuple)


class FakeReader:
    def __init__(self) -> None:
        self.finished_offsets: list[int] = []
        self.in_flight = 0
        self.owned = True

    def handed_out(self, record: Any) -> None:
        self.in_flight += 1

    def returned(self, record: Any) -> None:
        self.in_flight -= 1

    def finished(self, record: Any) -> None:
        self.finished_offsets.append(record.offset)

    def owns(self, record: Any) -> bool:
        return self.owned


def make(
    closing: bool = False, fail_dead_letters: bool = False, max_deliveries: int = 3
) -> tuple[Settler, FakeReader, list[tuple[int, str, int]]]:
    reader = FakeReader()
    stored: list[tuple[int, str, int]] = []

    async def dead_letter(record: Any, reason: str, deliveries: int) -> None:
        if fail_dead_letters:
            raise KafkaConnectionError("down")
        stored.append((record.offset, reason, deliveries))

    policy = RetryPolicy(max_deliveries=max_deliveries, backoff=0.01, max_backoff=0.02)
    settler = Settler(reader, policy, dead_letter, lambda: closing)  # type: ignore[arg-type]
    return settler, reader, stored


async def until(condition: Any) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


async def test_ack_finishes_once() -> None:
    settler, reader, _ = make()
    message = settler.hand_out(FakeRecord(4))  # type: ignore[arg-type]
    assert reader.in_flight == 1
    await message.ack()
    await message.ack()
    assert reader.finished_offsets == [4]
    assert reader.in_flight == 0


async def test_reject_dead_letters_then_finishes() -> None:
    settler, reader, stored = make()
    await settler.hand_out(FakeRecord(1)).reject()  # type: ignore[arg-type, misc]
    assert stored == [(1, "rejected", 1)]
    assert reader.finished_offsets == [1]


async def test_dead_letter_stores_the_receivers_reason_and_logs_it_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settler, reader, stored = make()
    record = FakeRecord(6, headers=((hdr.TASK_ID, b"abc"), (hdr.TASK_NAME, b"app:nope")))
    message = settler.hand_out(record)  # type: ignore[arg-type]
    assert message.dead_letter is not None
    with caplog.at_level(logging.WARNING):
        await message.dead_letter("unknown task 'app:nope'")  # type: ignore[misc]
        await message.dead_letter("again")  # type: ignore[misc]
        await message.ack()  # type: ignore[misc]
    assert stored == [(6, "unknown task 'app:nope'", 1)]
    assert reader.finished_offsets == [6]
    assert [r.getMessage() for r in caplog.records] == [
        "Dead-lettered task 'app:nope' [abc] from 't': unknown task 'app:nope'."
    ]


async def test_a_failed_dead_letter_leaves_the_offset_unfinished(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settler, reader, _ = make(fail_dead_letters=True)
    await settler.hand_out(FakeRecord(1)).reject()  # type: ignore[arg-type, misc]
    assert reader.finished_offsets == []
    assert not [r for r in caplog.records if r.getMessage().startswith("Dead-lettered")]


async def test_nack_retries_locally_then_dead_letters() -> None:
    settler, reader, stored = make(max_deliveries=3)
    record = FakeRecord(7)
    for _ in range(2):
        await settler.hand_out(record).nack()  # type: ignore[arg-type, misc]
        assert reader.finished_offsets == []
        await until(lambda: settler.ready)
        assert settler.ready.popleft() == record
    await settler.hand_out(record).nack()  # type: ignore[arg-type, misc]
    assert stored == [(7, "failed 3 times", 3)]
    assert reader.finished_offsets == [7]


async def test_failures_recorded_on_the_record_count_too() -> None:
    settler, _, stored = make(max_deliveries=3)
    record = FakeRecord(2, headers=((hdr.DELIVERIES, b"2"),))
    await settler.hand_out(record).nack()  # type: ignore[arg-type, misc]
    assert stored == [(2, "failed 3 times", 3)]


async def test_nack_while_closing_leaves_the_record_for_the_next_owner() -> None:
    settler, reader, _ = make(closing=True)
    await settler.hand_out(FakeRecord(3)).nack()  # type: ignore[arg-type, misc]
    await asyncio.sleep(0.05)
    assert not settler.ready
    assert reader.finished_offsets == []
    assert reader.in_flight == 0


async def test_nack_of_a_revoked_partition_is_not_retried_here() -> None:
    settler, reader, _ = make()
    reader.owned = False
    await settler.hand_out(FakeRecord(3)).nack()  # type: ignore[arg-type, misc]
    await asyncio.sleep(0.05)
    assert not settler.ready
    assert reader.finished_offsets == []


async def test_stop_cancels_pending_retries() -> None:
    settler, reader, _ = make()
    await settler.hand_out(FakeRecord(5)).nack()  # type: ignore[arg-type, misc]
    settler.stop()
    await asyncio.sleep(0.05)
    assert not settler.ready
    assert reader.finished_offsets == []


async def test_forgetting_a_partition_drops_its_retries_and_counts() -> None:
    from aiokafka import TopicPartition

    settler, _, stored = make(max_deliveries=2)
    record = FakeRecord(9)
    await settler.hand_out(record).nack()  # type: ignore[arg-type, misc]
    await until(lambda: settler.ready)
    settler.forget({TopicPartition("t", 0)})
    assert not settler.ready
    await settler.hand_out(record).nack()  # type: ignore[arg-type, misc]
    assert stored == [], "the failure count started again after the partition came back"
    settler.stop()
