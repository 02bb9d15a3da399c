"""How the receiver's ack, reject and nack of one record become offsets, retries and dead letters.

- ack: the offset is finished (committed once everything before it is).
- dead_letter(reason) (the receiver's, with a reason from
  `taskiq.control.dead_letter_reasons`) and reject (reason ``rejected``): the
  record is copied to the dead-letter topic, logged once, then finished.
- nack (processing failed, or the worker hands an unstarted record back): the
  record is kept in this worker and handed out again after a backoff, its offset
  still unfinished, so a crash meanwhile loses nothing. After ``max_deliveries``
  failed deliveries it is dead-lettered instead (``failed N times``). When the worker is stopping,
  or the partition was revoked, a nack just leaves the offset unfinished: the
  partition's next owner runs the record.

Settling happens at most once per hand-out; a failure to store a dead letter
leaves the offset unfinished (the record runs again after a restart or
rebalance) rather than losing it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiokafka import TopicPartition
from taskiq.acks import AckableMessage
from taskiq.control import failed_times, log_dead_lettered
from taskiq.middlewares.backoff import retry_delay

from taskiq_aio_kafka import headers as hdr
from taskiq_aio_kafka.errors import KAFKA_FAILURES
from taskiq_aio_kafka.reader import PartitionReader, Record

logger = logging.getLogger("taskiq_aio_kafka")

#: Stores a dead-letter copy (record, reason, deliveries) or raises.
DeadLetterFn = Callable[[Record, str, int], Awaitable[None]]
#: The reason of a broker-level ``reject()``, which names none.
REJECTED = "rejected"


@dataclass(frozen=True)
class RetryPolicy:
    """Deliveries before dead-lettering, and the backoff between them (see `retry_delay`)."""

    max_deliveries: int = 5
    backoff: float = 1.0
    max_backoff: float = 30.0

    def delay(self, failures: int) -> float:
        """Seconds before the delivery after ``failures`` failed ones."""
        return retry_delay(self.backoff, failures, exponential=True, cap=self.max_backoff)


class Settler:
    """Builds the `AckableMessage` for each record and carries out its settlement."""

    def __init__(
        self,
        reader: PartitionReader,
        policy: RetryPolicy,
        dead_letter: DeadLetterFn,
        is_closing: Callable[[], bool],
        on_done: Callable[[Record], None] | None = None,
    ) -> None:
        self.reader = reader
        self.policy = policy
        self._dead_letter = dead_letter
        self._is_closing = is_closing
        self._on_done = on_done
        #: Records due for another local delivery, oldest first.
        self.ready: deque[Record] = deque()
        self._failures: dict[tuple[str, int, int], int] = {}
        self._timers: set[asyncio.TimerHandle] = set()

    def hand_out(self, record: Record) -> AckableMessage:
        """The message the receiver gets for ``record``."""
        self.reader.handed_out(record)
        settle = _Settlement(self, record)
        return AckableMessage(
            data=record.value or b"",
            ack=settle.ack,
            reject=settle.reject,
            nack=settle.nack,
            dead_letter=settle.dead_letter,
        )

    def forget(self, partitions: set[TopicPartition]) -> None:
        """Drop waiting retries of revoked partitions: their next owner runs them."""
        kept = [r for r in self.ready if TopicPartition(r.topic, r.partition) not in partitions]
        self.ready.clear()
        self.ready.extend(kept)
        for key in [k for k in self._failures if TopicPartition(k[0], k[1]) in partitions]:
            del self._failures[key]

    def stop(self) -> None:
        """Cancel pending retries (their offsets stay unfinished, so nothing is lost)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self.ready.clear()

    async def dead_letter(self, record: Record, reason: str, deliveries: int | None = None) -> None:
        """Copy ``record`` to the dead-letter topic, log it and finish it; on failure leave it.

        ``deliveries`` counts this one: by default the failed ones before it, plus one.
        """
        headers = hdr.as_dict(record.headers)
        if deliveries is None:
            deliveries = self._failures.get(_key(record), 0) + hdr.deliveries(headers) + 1
        try:
            await self._dead_letter(record, reason, deliveries)
        except KAFKA_FAILURES as exc:
            logger.error(
                "Could not dead-letter the record at %s[%d]@%d (%r); it runs again after a "
                "restart or rebalance.",
                record.topic,
                record.partition,
                record.offset,
                exc,
            )
            return
        log_dead_lettered(
            queue=record.topic,
            task_id=headers.get(hdr.TASK_ID, f"at {record.partition}:{record.offset}"),
            task_name=headers.get(hdr.TASK_NAME),
            reason=reason,
        )
        self.finish(record)

    def finish(self, record: Record) -> None:
        """The record is done for good (acked or dead-lettered): its offset may be committed."""
        self._failures.pop(_key(record), None)
        self.reader.finished(record)
        if self._on_done is not None:
            self._on_done(record)

    async def failed(self, record: Record) -> None:
        """A delivery failed: run it again here after a backoff, or dead-letter it at the limit."""
        if self._is_closing() or not self.reader.owns(record):
            return  # unfinished: the partition's next owner delivers it again
        key = _key(record)
        failures = self._failures.get(key, 0) + 1
        self._failures[key] = failures
        total = failures + hdr.deliveries(hdr.as_dict(record.headers))
        if total >= self.policy.max_deliveries:
            await self.dead_letter(record, failed_times(total), total)
            return
        loop = asyncio.get_running_loop()
        timer: asyncio.TimerHandle | None = None

        def due() -> None:
            if timer is not None:
                self._timers.discard(timer)
            if self.reader.owns(record):
                self.ready.append(record)

        timer = loop.call_later(self.policy.delay(failures), due)
        self._timers.add(timer)


class _Settlement:
    """The settle callbacks of one hand-out: whichever is called first is the only one."""

    __slots__ = ("record", "settled", "settler")

    def __init__(self, settler: Settler, record: Record) -> None:
        self.settler = settler
        self.record = record
        self.settled = False

    async def ack(self) -> None:
        if self._begin():
            self.settler.finish(self.record)

    async def reject(self) -> None:
        if self._begin():
            await self.settler.dead_letter(self.record, REJECTED)

    async def dead_letter(self, reason: str) -> None:
        if self._begin():
            await self.settler.dead_letter(self.record, reason)

    async def nack(self) -> None:
        if self._begin():
            await self.settler.failed(self.record)

    def _begin(self) -> bool:
        if self.settled:
            return False
        self.settled = True
        self.settler.reader.returned(self.record)
        return True


def _key(record: Record) -> tuple[str, int, int]:
    return (record.topic, record.partition, record.offset)
