"""Which offset of each partition is safe to commit: the highest *contiguous* finished one.

Kafka keeps one committed position per partition, not an ack per message. A
worker running tasks concurrently finishes them out of order, so committing the
newest finished offset would mark older, still running tasks as done: a crash
would then skip them. `OffsetTracker` commits only up to the first offset that
is not finished yet, so after a crash or rebalance the next owner starts at the
oldest unfinished task (tasks after it that had finished run again: at least
once, never lost).

It is pure bookkeeping (no I/O), so every interleaving can be tested exactly.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Generic, TypeVar

_P = TypeVar("_P")


class PartitionOffsets:
    """The fetched offsets of one partition that are not covered by a commit yet."""

    def __init__(self) -> None:
        self._pending: deque[int] = deque()  # fetched, in fetch order, not yet committable
        self._open: set[int] = set()  # fetched and not finished
        self._finished: set[int] = set()  # finished but behind an open one
        self._next: int | None = None  # one past the highest offset fetched
        self._committed: int | None = None

    def fetched(self, offset: int) -> bool:
        """Record a fetched offset; False (and ignored) if it is not newer than the last one.

        Offsets of one partition arrive in increasing order, possibly with gaps
        (compaction, transaction markers); a repeat can only come from a seek back,
        and the first fetch of it is the one being tracked.
        """
        if self._next is not None and offset < self._next:
            return False
        self._pending.append(offset)
        self._open.add(offset)
        self._next = offset + 1
        return True

    def finished(self, offset: int) -> None:
        """The task at ``offset`` is settled (acked, dead-lettered or copied for a retry)."""
        if offset in self._open:
            self._open.discard(offset)
            self._finished.add(offset)

    @property
    def unfinished(self) -> int:
        """How many fetched offsets are not finished."""
        return len(self._open)

    def committable(self) -> int | None:
        """The position to commit (first unfinished offset), or None if it did not move."""
        while self._pending and self._pending[0] in self._finished:
            self._finished.discard(self._pending.popleft())
        position = self._pending[0] if self._pending else self._next
        if position is None or position == self._committed:
            return None
        return position

    def committed(self, position: int) -> None:
        """A commit of ``position`` succeeded: do not offer it again."""
        if self._committed is None or position > self._committed:
            self._committed = position


class OffsetTracker(Generic[_P]):
    """`PartitionOffsets` for every partition this consumer owns, keyed by partition."""

    def __init__(self) -> None:
        self._partitions: dict[_P, PartitionOffsets] = {}

    def fetched(self, partition: _P, offset: int) -> bool:
        """Record a fetched message; False if it repeats one already tracked."""
        return self._partitions.setdefault(partition, PartitionOffsets()).fetched(offset)

    def finished(self, partition: _P, offset: int) -> None:
        """A message is settled; ignored for a partition no longer owned."""
        offsets = self._partitions.get(partition)
        if offsets is not None:
            offsets.finished(offset)

    def owns(self, partition: _P) -> bool:
        """True while ``partition`` is tracked (assigned and not revoked)."""
        return partition in self._partitions

    def unfinished(self, partitions: Iterable[_P] | None = None) -> int:
        """Unfinished messages of ``partitions`` (all when None)."""
        chosen = self._partitions if partitions is None else partitions
        return sum(self._partitions[p].unfinished for p in chosen if p in self._partitions)

    def to_commit(self, partitions: Iterable[_P] | None = None) -> dict[_P, int]:
        """Positions that moved since the last commit, for ``partitions`` (all when None)."""
        chosen = list(self._partitions) if partitions is None else list(partitions)
        positions: dict[_P, int] = {}
        for partition in chosen:
            offsets = self._partitions.get(partition)
            position = None if offsets is None else offsets.committable()
            if position is not None:
                positions[partition] = position
        return positions

    def committed(self, positions: dict[_P, int]) -> None:
        """Positions that were committed successfully."""
        for partition, position in positions.items():
            offsets = self._partitions.get(partition)
            if offsets is not None:
                offsets.committed(position)

    def drop(self, partitions: Iterable[_P]) -> None:
        """Forget revoked partitions: late settlements for them commit nothing."""
        for partition in partitions:
            self._partitions.pop(partition, None)
