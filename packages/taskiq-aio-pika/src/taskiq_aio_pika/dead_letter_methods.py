"""The broker's public dead-letter methods: count, peek, replay and purge.

Kept apart from the transport code in `broker`; each call opens a short-lived
channel with publisher confirms on the broker's connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aio_pika.abc import AbstractChannel, AbstractQueue, AbstractRobustConnection

from taskiq_aio_pika import dead_letters
from taskiq_aio_pika.errors import amqp_errors
from taskiq_aio_pika.topology import Queue


class DeadLetterMethods:
    """Mixed into `AioPikaBroker`; ``queue_name`` selects a task queue (default: main)."""

    url: str
    main_queue: Queue
    queues: dict[str, Queue]
    dead_letter_queues: dict[str, str]
    _connection: AbstractRobustConnection | None

    async def dead_letter_count(self, queue_name: str | None = None) -> int:
        """How many messages wait in the dead-letter queue of ``queue_name``."""
        async with self._dead_letter_queue(queue_name) as (_, queue):
            declared = await queue.declare()
            return declared.message_count or 0

    async def peek_dead_letters(
        self,
        limit: int = 100,
        queue_name: str | None = None,
    ) -> list[dead_letters.DeadLetter]:
        """Read up to ``limit`` dead letters (oldest first) without removing them."""
        async with self._dead_letter_queue(queue_name) as (_, queue):
            return await dead_letters.peek(queue, limit)

    async def replay_dead_letters(
        self,
        limit: int | None = None,
        queue_name: str | None = None,
    ) -> list[dead_letters.DeadLetter]:
        """Send dead letters back to where they died, oldest first; return what was replayed."""
        replayed: list[dead_letters.DeadLetter] = []
        task_queue = queue_name or self.main_queue.name
        async with self._dead_letter_queue(queue_name) as (channel, queue):
            waiting = (await queue.declare()).message_count or 0
            # Never more than were waiting: a replayed message that dies again must
            # not be picked up by this same call.
            limit = waiting if limit is None else min(limit, waiting)
            while len(replayed) < limit:
                letter = await dead_letters.replay_one(channel, queue, task_queue)
                if letter is None:
                    break
                replayed.append(letter)
        return replayed

    async def purge_dead_letters(self, queue_name: str | None = None) -> int:
        """Delete every dead letter of ``queue_name``; return how many were deleted."""
        async with self._dead_letter_queue(queue_name) as (_, queue):
            purged = await queue.purge()
            return int(purged.message_count or 0)

    @asynccontextmanager
    async def _dead_letter_queue(
        self,
        queue_name: str | None,
    ) -> AsyncIterator[tuple[AbstractChannel, AbstractQueue]]:
        name = self.dead_letter_queues.get(queue_name or self.main_queue.name)
        if name is None or self._connection is None:
            raise ValueError(
                f"No dead-letter queue for {queue_name!r} (known: {sorted(self.queues)}), "
                "or the broker is not started.",
            )
        with amqp_errors("declare", self.url):
            channel = await self._connection.channel(
                publisher_confirms=True,
                on_return_raises=True,
            )
            try:
                yield channel, await channel.get_queue(name, ensure=True)
            finally:
                await channel.close()
