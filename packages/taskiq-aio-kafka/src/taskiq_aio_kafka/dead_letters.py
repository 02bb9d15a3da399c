"""The dead-letter topic: records that must not run again until someone replays them.

A record lands here when the receiver rejects it (undecodable, unknown task,
``Context.reject()``) or after ``max_deliveries`` failed deliveries. The copy
keeps the value, key and headers, plus headers saying why, from which topic and
when. The topic has one partition, so a dead letter's id is its offset.

Kafka cannot delete one record, so replaying or deleting a dead letter appends
a small marker record (header ``taskiq-dead-letter-settles``) and listing skips
settled letters. Retention (``retention.ms`` of the topic) eventually removes
both.
"""

from __future__ import annotations

import builtins
import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from taskiq_aio_kafka import headers as hdr
from taskiq_aio_kafka.reader import Record

#: Seconds listing may take to read the topic to its end.
READ_TIMEOUT = 30.0
#: Builds a group-less consumer for reading the topic from the start.
ConsumerFactory = Callable[[], AIOKafkaConsumer]


@dataclass
class DeadLetter:
    """One dead-lettered task message; ``id`` is its offset in the dead-letter topic."""

    id: str
    data: bytes
    task_id: str | None
    task_name: str | None
    reason: str
    deliveries: int
    origin: str
    dead_at: datetime.datetime | None
    key: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


class DeadLetterStore:
    """Stores, lists, replays and deletes the dead letters of one broker."""

    def __init__(
        self,
        topic: str,
        producer: Callable[[], AIOKafkaProducer],
        consumer_factory: ConsumerFactory,
    ) -> None:
        self.topic = topic
        self._producer = producer
        self._consumer_factory = consumer_factory

    async def put(self, record: Record, reason: str, deliveries: int) -> None:
        """Store a copy of ``record``; returns once the broker acknowledged it."""
        headers = hdr.without(hdr.as_dict(record.headers), hdr.DEAD_LETTER_HEADERS)
        headers[hdr.DEAD_REASON] = reason
        headers[hdr.ORIGINAL_TOPIC] = record.topic
        headers[hdr.DELIVERIES] = str(deliveries)
        headers[hdr.DEAD_AT] = f"{time.time():.3f}"
        await self._send(record.value or b"", record.key, headers)

    async def list(self, count: int | None = 100) -> builtins.list[DeadLetter]:
        """Unsettled dead letters, oldest first, at most ``count`` (None: all)."""
        letters: dict[int, DeadLetter] = {}
        for record in await self._read_all():
            headers = hdr.as_dict(record.headers)
            settles = headers.get(hdr.SETTLES)
            if settles is not None:
                letters.pop(int(settles), None)
            else:
                letters[record.offset] = _to_dead_letter(record, headers)
        found = list(letters.values())
        return found if count is None else found[:count]

    async def replay(self, letter: DeadLetter) -> None:
        """Send ``letter`` back to its topic (failed deliveries reset), then settle it."""
        headers = hdr.without(letter.headers, hdr.DEAD_LETTER_HEADERS)
        await self._producer().send_and_wait(
            letter.origin,
            letter.data,
            key=letter.key,
            headers=hdr.encode(headers),
        )
        await self.settle(letter.id)

    async def settle(self, letter_id: str) -> None:
        """Mark one dead letter as gone (replayed or deleted)."""
        await self._send(b"", None, {hdr.SETTLES: str(int(letter_id))})

    async def _send(self, value: bytes, key: bytes | None, headers: dict[str, str]) -> None:
        await self._producer().send_and_wait(
            self.topic, value, key=key, headers=hdr.encode(headers), partition=0
        )

    async def _read_all(self) -> builtins.list[Record]:
        """Every record of the topic, up to its current end."""
        partition = TopicPartition(self.topic, 0)
        consumer = self._consumer_factory()
        await consumer.start()
        try:
            consumer.assign([partition])
            end = (await consumer.end_offsets([partition]))[partition]
            await consumer.seek_to_beginning(partition)
            records: builtins.list[Record] = []
            deadline = time.monotonic() + READ_TIMEOUT
            while await consumer.position(partition) < end and time.monotonic() < deadline:
                batch = await consumer.getmany(partition, timeout_ms=500)
                records.extend(batch.get(partition, []))
            return records
        finally:
            await consumer.stop()


def _to_dead_letter(record: Record, headers: dict[str, str]) -> DeadLetter:
    dead_at = headers.get(hdr.DEAD_AT)
    try:
        when = (
            None
            if dead_at is None
            else datetime.datetime.fromtimestamp(float(dead_at), tz=datetime.timezone.utc)
        )
    except ValueError:
        when = None
    return DeadLetter(
        id=str(record.offset),
        data=record.value or b"",
        task_id=headers.get(hdr.TASK_ID),
        task_name=headers.get(hdr.TASK_NAME),
        reason=headers.get(hdr.DEAD_REASON, "unknown"),
        deliveries=hdr.deliveries(headers),
        origin=headers.get(hdr.ORIGINAL_TOPIC, ""),
        dead_at=when,
        key=record.key,
        headers=headers,
    )


__all__ = ["DeadLetter", "DeadLetterStore"]
