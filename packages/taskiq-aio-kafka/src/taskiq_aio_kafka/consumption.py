"""A worker's consuming side, wired once: reader, settler, key gate and delay mover.

`Consumption.messages` is the loop behind ``broker.listen()``: retries and
released same-key records first (they are already tracked), then the records
of the last fetch, then a fetch of as many records as the receiver has room
for. Delay-topic records go to the mover, keyed records wait behind their key,
the rest go to the receiver. Fetched records wait here, not in the loop, so a
``listen()`` closed and opened again carries on where the last one stopped.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from taskiq.acks import AckableMessage
from taskiq.reconnect import ReconnectBackoff

from taskiq_aio_kafka.delays import DelayedMover, SendFn
from taskiq_aio_kafka.errors import KAFKA_FAILURES
from taskiq_aio_kafka.ordering import KeyGate
from taskiq_aio_kafka.reader import PartitionReader, Record
from taskiq_aio_kafka.settler import DeadLetterFn, RetryPolicy, Settler

logger = logging.getLogger("taskiq_aio_kafka")

#: Seconds one fetch waits for records before the loop looks at its retries again.
FETCH_TIMEOUT = 0.1


class Consumption:
    """Owns every part of consuming for one worker; built by the broker at start-up."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        *,
        delay_topic: str,
        policy: RetryPolicy,
        revoke_timeout: float | None,
        key_ordering: bool,
        send: SendFn,
        dead_letter: DeadLetterFn,
        is_closing: Callable[[], bool],
        outage: ReconnectBackoff | None = None,
    ) -> None:
        self.delay_topic = delay_topic
        self.is_closing = is_closing
        self.reader = PartitionReader(consumer, revoke_timeout, self._revoked)
        self.gate = KeyGate() if key_ordering else None
        self.settler = Settler(self.reader, policy, dead_letter, is_closing, self._done)
        self.mover = DelayedMover(send, self.reader.finished)
        #: Fetched records that may run, not handed out yet, in fetch order.
        self.fetched: deque[Record] = deque()
        #: The shared backoff for a fetch that failed (a server gone away).
        self.outage = outage or ReconnectBackoff("Kafka", "its servers", log=logger)

    async def stop(self) -> None:
        """Cancel local retries and delay waits, commit, leave the group."""
        self.settler.stop()
        self.fetched.clear()
        await self.mover.stop()
        await self.reader.stop()

    async def messages(
        self, room: Callable[[], int | None]
    ) -> AsyncGenerator[AckableMessage, None]:
        """Messages for the receiver until the broker closes; ``room`` bounds each fetch."""
        settler, reader = self.settler, self.reader
        while not self.is_closing():
            if settler.ready or self.fetched:
                record = (settler.ready or self.fetched).popleft()
                if reader.owns(record):
                    yield settler.hand_out(record)
                continue
            self.fetched.extend(r for r in await self._fetch(room()) if self._admit(r))

    async def _fetch(self, room: int | None) -> list[Record]:
        """One fetch; after a failure, wait with the shared backoff and return nothing."""
        try:
            records = await self.reader.fetch(room, FETCH_TIMEOUT)
        except KAFKA_FAILURES as exc:
            await self.outage.wait(exc)
            return []
        self.outage.succeeded()
        return records

    def _admit(self, record: Record) -> bool:
        """True if ``record`` runs now; delayed ones and ones behind their key wait."""
        if record.topic == self.delay_topic:
            self.mover.hold(record)
            return False
        return self.gate is None or self.gate.admit(record)

    def _done(self, record: Record) -> None:
        """A record is finished: the next record of its key may run."""
        if self.gate is None:
            return
        following = self.gate.release(record)
        if following is not None:
            self.settler.ready.append(following)

    def _revoked(self, partitions: set[TopicPartition]) -> None:
        kept = [r for r in self.fetched if TopicPartition(r.topic, r.partition) not in partitions]
        self.fetched.clear()
        self.fetched.extend(kept)
        self.settler.forget(partitions)
        self.mover.forget(partitions)
        if self.gate is not None:
            self.gate.forget(partitions)
