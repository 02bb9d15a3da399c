"""Optional per-key ordering: records with the same key run one at a time, in order.

Kafka keeps the records of one key in one partition, in order, but a worker
running tasks concurrently would start them together. `KeyGate` hands out a
keyed record only when no earlier record of the same key (in the same
partition) is still running, and queues it otherwise; records of other keys,
and records without a key, pass straight through, so concurrency across keys
is kept. A record being retried after a nack keeps its key busy, so the order
holds across retries too.
"""

from __future__ import annotations

from collections import deque

from aiokafka import TopicPartition

from taskiq_aio_kafka.reader import Record

_Slot = tuple[str, int, bytes]


class KeyGate:
    """Lets at most one record per (partition, key) be out at a time."""

    def __init__(self) -> None:
        self._queues: dict[_Slot, deque[Record]] = {}

    def admit(self, record: Record) -> bool:
        """True if ``record`` may run now; otherwise it is queued behind its key."""
        slot = _slot(record)
        if slot is None:
            return True
        queue = self._queues.get(slot)
        if queue is None:
            self._queues[slot] = deque()
            return True
        queue.append(record)
        return False

    def release(self, record: Record) -> Record | None:
        """``record`` is done: the next record of its key, if one waits."""
        slot = _slot(record)
        if slot is None:
            return None
        queue = self._queues.get(slot)
        if not queue:
            self._queues.pop(slot, None)
            return None
        return queue.popleft()

    def forget(self, partitions: set[TopicPartition]) -> None:
        """Drop the queues of revoked partitions: their next owner runs those records."""
        for slot in list(self._queues):
            if TopicPartition(slot[0], slot[1]) in partitions:
                del self._queues[slot]

    @property
    def waiting(self) -> int:
        """Records queued behind a running record of their key."""
        return sum(len(queue) for queue in self._queues.values())


def _slot(record: Record) -> _Slot | None:
    if record.key is None:
        return None
    return (record.topic, record.partition, record.key)
