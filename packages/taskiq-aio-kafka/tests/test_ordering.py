"""`KeyGate`: one record per (partition, key) out at a time, in order; others pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import TopicPartition
from taskiq_aio_kafka.ordering import KeyGate


@dataclass(frozen=True)
class FakeRecord:
    offset: int
    key: bytes | None
    topic: str = "t"
    partition: int = 0
    value: bytes | None = b""
    headers: Sequence[tuple[str, bytes]] = field(default_factory=tuple)


def test_records_without_a_key_always_pass() -> None:
    gate = KeyGate()
    assert all(gate.admit(FakeRecord(i, None)) for i in range(3))
    assert gate.release(FakeRecord(0, None)) is None


def test_same_key_waits_and_is_released_in_order() -> None:
    gate = KeyGate()
    first, second, third = (FakeRecord(i, b"a") for i in range(3))
    assert gate.admit(first)
    assert not gate.admit(second)
    assert not gate.admit(third)
    assert gate.waiting == 2
    assert gate.release(first) == second
    assert gate.release(second) == third
    assert gate.release(third) is None
    assert gate.admit(FakeRecord(3, b"a")), "the key is free again"


def test_other_keys_and_partitions_run_concurrently() -> None:
    gate = KeyGate()
    assert gate.admit(FakeRecord(0, b"a"))
    assert gate.admit(FakeRecord(1, b"b"))
    assert gate.admit(FakeRecord(0, b"a", partition=1))


def test_forgetting_a_revoked_partition_drops_its_queues() -> None:
    gate = KeyGate()
    gate.admit(FakeRecord(0, b"a"))
    gate.admit(FakeRecord(1, b"a"))
    gate.admit(FakeRecord(0, b"a", partition=1))
    gate.forget({TopicPartition("t", 0)})
    assert gate.waiting == 0
    assert gate.release(FakeRecord(0, b"a")) is None  # a late ack after the revocation
    assert not gate.admit(FakeRecord(1, b"a", partition=1)), "partition 1 is untouched"
