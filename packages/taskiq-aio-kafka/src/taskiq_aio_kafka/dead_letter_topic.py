"""The dead-letter topic as storage: write a dead letter, read the live ones, settle them.

The topic has one partition, so a dead letter's offset names it for good.
Kafka cannot delete one record: settling a dead letter (it was replayed or
deleted) appends a small marker record whose header
``taskiq-dead-letter-settles`` holds the letter's offset. A marker always
comes after its letter, so reading from any offset on tells exactly which
letters from there on are still dead. Retention (the topic's ``retention.ms``)
eventually removes both.

`KafkaDeadLetterStore` (in `dead_letters`) is the core contract on top of this.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from taskiq_aio_kafka import headers as hdr
from taskiq_aio_kafka.reader import Record

#: Seconds one read of the topic (to its end as of the call) may take.
READ_TIMEOUT = 30.0
#: Builds a group-less consumer for reading the topic.
ConsumerFactory = Callable[[], AIOKafkaConsumer]


class DeadLetterTopic:
    """Writes dead letters and settle markers to ``topic``; reads back the live letters."""

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
        """Store a copy of ``record`` with why, from where and when; returns once acknowledged."""
        headers = hdr.without(hdr.as_dict(record.headers), hdr.DEAD_LETTER_HEADERS)
        headers[hdr.DEAD_REASON] = reason
        headers[hdr.ORIGINAL_TOPIC] = record.topic
        headers[hdr.DELIVERIES] = str(deliveries)
        headers[hdr.DEAD_AT] = f"{time.time():.3f}"
        producer = self._producer()
        await producer.send_and_wait(
            self.topic,
            record.value or b"",
            key=record.key,
            headers=hdr.encode(headers),
            partition=0,
        )

    async def live(self, start: int = 0) -> dict[int, Record]:
        """The letters at ``start`` or later not settled yet (offset → record), oldest first.

        The topic is read to its end once: a letter that arrives after that
        (a replayed one dying again) is not in the answer.
        """
        letters: dict[int, Record] = {}
        for record in await self._read_from(start):
            settles = hdr.as_dict(record.headers).get(hdr.SETTLES)
            if settles is None:
                letters[record.offset] = record
            elif settles.isdecimal():
                letters.pop(int(settles), None)
        return letters

    async def republish(self, letters: Iterable[tuple[Record, str]]) -> None:
        """Send each (letter, topic) as a fresh task record: the dead-letter headers dropped."""
        producer = self._producer()
        sends = []
        for letter, topic in letters:
            fresh = hdr.without(hdr.as_dict(letter.headers), hdr.DEAD_LETTER_HEADERS)
            sends.append(
                await producer.send(
                    topic, letter.value or b"", key=letter.key, headers=hdr.encode(fresh)
                )
            )
        await asyncio.gather(*sends)

    async def settle(self, offsets: Iterable[int]) -> None:
        """Mark the letters at ``offsets`` as gone (replayed or deleted)."""
        producer = self._producer()
        sends = [
            await producer.send(
                self.topic, b"", headers=hdr.encode({hdr.SETTLES: str(offset)}), partition=0
            )
            for offset in offsets
        ]
        await asyncio.gather(*sends)

    async def _read_from(self, start: int) -> list[Record]:
        """Every record from offset ``start`` (or the oldest one kept) up to the current end.

        The end is the high watermark of the fetch responses, not ``end_offsets()``:
        tansu (the test server) answers that with the first offset of the last
        batch plus one, which misses the rest of a batch of several records.
        """
        partition = TopicPartition(self.topic, 0)
        consumer = self._consumer_factory()
        await consumer.start()
        try:
            consumer.assign([partition])
            consumer.seek(partition, start)  # out of range (retention): the oldest kept
            return await _read_to_end(consumer, partition, start)
        finally:
            await consumer.stop()


async def _read_to_end(
    consumer: AIOKafkaConsumer, partition: TopicPartition, start: int
) -> list[Record]:
    """Records of ``partition`` from ``start`` until the position reaches the high watermark."""
    records: list[Record] = []
    deadline = time.monotonic() + READ_TIMEOUT
    while True:
        batch = await consumer.getmany(partition, timeout_ms=100)
        records.extend(r for r in batch.get(partition, []) if r.offset >= start)
        end = consumer.highwater(partition)
        if end is not None and await consumer.position(partition) >= end:
            return records
        if time.monotonic() > deadline:
            raise asyncio.TimeoutError(
                f"reading the dead-letter topic {partition.topic!r} took over {READ_TIMEOUT} s"
            )
