"""The delay topic: tasks sent with a ``delay`` label wait there, not in their own topic.

A delayed task is written to the broker's delay topic with two headers: when
it is due and which topic it belongs to. Workers consume the delay topic like
any other; instead of running a record they hold it in memory until it is due,
then copy it to its topic and finish its offset. Nothing waits in a task
partition, so a delayed task never blocks the tasks behind it.

The delay partition's offset is committed only up to the first record not yet
moved. If a worker dies, the next owner re-reads the unmoved ones (and any
already moved after them: those are moved again, so a delayed task may run
twice, never zero times).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiokafka import TopicPartition

from taskiq_aio_kafka import headers as hdr
from taskiq_aio_kafka.errors import KAFKA_FAILURES
from taskiq_aio_kafka.reader import Record

logger = logging.getLogger("taskiq_aio_kafka")

#: Sends (topic, value, key, headers) and waits for the broker's acknowledgement.
SendFn = Callable[[str, bytes, "bytes | None", dict[str, str]], Awaitable[None]]
#: Seconds between attempts to move a due record while sending fails.
RETRY_PAUSE = 1.0


class DelayedMover:
    """Holds delay-topic records until due, then moves each to its target topic."""

    def __init__(self, send: SendFn, finished: Callable[[Record], None]) -> None:
        self._send = send
        self._finished = finished
        self._waiting: dict[asyncio.Task[None], TopicPartition] = {}

    @property
    def waiting(self) -> int:
        """Delayed records held by this worker."""
        return len(self._waiting)

    def hold(self, record: Record) -> None:
        """Move ``record`` to its topic once it is due."""
        task = asyncio.create_task(self._move_when_due(record))
        self._waiting[task] = TopicPartition(record.topic, record.partition)
        task.add_done_callback(self._waiting.pop)

    def forget(self, partitions: set[TopicPartition]) -> None:
        """Stop holding records of revoked partitions: their next owner moves them."""
        for task, partition in list(self._waiting.items()):
            if partition in partitions:
                task.cancel()

    async def stop(self) -> None:
        """Cancel every wait; unmoved records stay unfinished and are not lost."""
        tasks = list(self._waiting)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _move_when_due(self, record: Record) -> None:
        headers = hdr.as_dict(record.headers)
        await asyncio.sleep(hdr.seconds_until_due(headers))
        target = headers.get(hdr.TARGET_TOPIC)
        if not target:
            logger.error(
                "A delayed record at offset %d names no target topic; dropping it.", record.offset
            )
            self._finished(record)
            return
        moved = hdr.without(headers, hdr.DELAY_HEADERS)
        while True:
            try:
                await self._send(target, record.value or b"", record.key, moved)
            except KAFKA_FAILURES as exc:
                logger.warning("Moving a due task to %r failed (%r); retrying.", target, exc)
                await asyncio.sleep(RETRY_PAUSE)
                continue
            self._finished(record)
            return
