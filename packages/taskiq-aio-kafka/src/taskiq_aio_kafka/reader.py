"""The consumer side: fetch records, track their offsets, commit, survive rebalances.

`PartitionReader` owns the ``AIOKafkaConsumer`` of a worker. Auto-commit is off:
a settled record only marks its offset finished in the `OffsetTracker`, and a
background flusher commits what became contiguous (one commit covers every
settlement since the previous one, so a busy worker commits per batch, not per
task).

On a rebalance the group coordinator first revokes partitions. The reader then
stops handing out records of those partitions, waits (at most
``revoke_timeout`` seconds) for the ones already running, commits what is
contiguous and forgets the rest: the next owner starts at the first unfinished
offset. A worker that dies without revoking (SIGKILL) commits nothing more;
the group notices after ``session_timeout_ms`` and the survivors start at the
last commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from taskiq_aio_kafka.errors import KAFKA_FAILURES
from taskiq_aio_kafka.offsets import OffsetTracker

logger = logging.getLogger("taskiq_aio_kafka")


class Record(Protocol):
    """What the broker reads of an aiokafka ``ConsumerRecord``."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


#: Called with the partitions being revoked, before the reader waits for them.
RevokeHook = Callable[[set[TopicPartition]], None]


class PartitionReader:
    """Fetches records for this worker and commits each partition's finished prefix."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        revoke_timeout: float | None,
        on_revoke: RevokeHook | None = None,
    ) -> None:
        self.consumer = consumer
        self.revoke_timeout = revoke_timeout
        self.on_revoke = on_revoke
        self.tracker: OffsetTracker[TopicPartition] = OffsetTracker()
        #: Records handed to the receiver and not settled yet, per partition.
        self.in_flight: Counter[TopicPartition] = Counter()
        self._revoking: set[TopicPartition] = set()
        self._commit_wanted = asyncio.Event()
        self._settled = asyncio.Event()
        self._commit_lock = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None

    async def start(self, topics: Iterable[str]) -> None:
        """Join the group for ``topics`` and start the commit flusher."""
        self.consumer.subscribe(list(topics), listener=_Listener(self))
        await self.consumer.start()
        self._flusher = asyncio.create_task(self._flush_forever())

    async def stop(self) -> None:
        """Commit the finished prefix of every partition, then leave the group."""
        flusher, self._flusher = self._flusher, None
        if flusher is not None:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        await self.commit()
        with contextlib.suppress(*KAFKA_FAILURES):
            await self.consumer.stop()

    # -- fetching ------------------------------------------------------------

    async def fetch(self, room: int | None, timeout: float) -> list[Record]:
        """Up to ``room`` new records (None: no bound), waiting at most ``timeout`` s."""
        batches = await self.consumer.getmany(
            timeout_ms=int(timeout * 1000),
            max_records=None if room is None else max(room, 1),
        )
        fresh: list[Record] = []
        assigned = self.consumer.assignment() if batches else set()
        for partition, records in batches.items():
            if partition in self._revoking or partition not in assigned:
                continue  # revoked meanwhile: its next owner reads these records
            for record in records:
                if self.tracker.fetched(partition, record.offset):
                    fresh.append(record)
        return fresh

    def owns(self, record: Record) -> bool:
        """True while the record's partition is ours and not being revoked."""
        partition = _partition(record)
        return partition not in self._revoking and self.tracker.owns(partition)

    # -- settling ------------------------------------------------------------

    def handed_out(self, record: Record) -> None:
        """The record goes to the receiver: revocation waits for it."""
        self.in_flight[_partition(record)] += 1

    def returned(self, record: Record) -> None:
        """The receiver let go of the record (settled, or kept for a local retry)."""
        partition = _partition(record)
        if self.in_flight[partition] > 0:
            self.in_flight[partition] -= 1
        self._settled.set()

    def finished(self, record: Record) -> None:
        """The record's task is done for good: its offset may be committed."""
        self.tracker.finished(_partition(record), record.offset)
        self._commit_wanted.set()

    async def commit(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        """Commit the finished prefix of ``partitions`` (all when None); log failures."""
        async with self._commit_lock:
            positions = self.tracker.to_commit(partitions)
            if not positions:
                return
            try:
                await self.consumer.commit(positions)
            except KAFKA_FAILURES as exc:
                logger.warning(
                    "Committing offsets failed (%r); the tasks after the last commit may "
                    "run again.",
                    exc,
                )
                return
            self.tracker.committed(positions)

    async def _flush_forever(self) -> None:
        """Commit after every batch of settlements; an unexpected error must not end it."""
        while True:
            await self._commit_wanted.wait()
            self._commit_wanted.clear()
            try:
                await self.commit()
            except Exception:
                logger.exception("Committing offsets failed unexpectedly; trying again later.")

    # -- rebalancing ---------------------------------------------------------

    async def revoke(self, partitions: set[TopicPartition]) -> None:
        """Stop handing out ``partitions``, let running tasks finish, commit, forget."""
        if not partitions:
            return
        self._revoking |= partitions
        if self.on_revoke is not None:
            self.on_revoke(partitions)
        running = await self._wait_running(partitions)
        if running:
            logger.warning(
                "%d tasks of revoked partitions were still running after %s s; their "
                "records go to the partitions' next owner and may run twice.",
                running,
                self.revoke_timeout,
            )
        await self.commit(partitions)
        self.tracker.drop(partitions)
        for partition in partitions:
            self.in_flight.pop(partition, None)
        self._revoking -= partitions

    async def _wait_running(self, partitions: set[TopicPartition]) -> int:
        """Wait until no record of ``partitions`` is in flight; return how many still are."""
        loop = asyncio.get_running_loop()
        deadline = None if self.revoke_timeout is None else loop.time() + self.revoke_timeout
        while (running := sum(self.in_flight[p] for p in partitions)) > 0:
            self._settled.clear()
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return running
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._settled.wait(), left)
        return 0


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]  # untyped base
    """Forwards the coordinator's revocations to the reader (assignments need nothing)."""

    def __init__(self, reader: PartitionReader) -> None:
        self.reader = reader

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self.reader.revoke(set(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        logger.debug("Assigned partitions: %s", sorted(map(str, assigned)))


def _partition(record: Record) -> TopicPartition:
    return TopicPartition(record.topic, record.partition)
