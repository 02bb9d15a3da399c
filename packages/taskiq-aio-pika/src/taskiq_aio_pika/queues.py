"""The depth of RabbitMQ task queues, and purge: the AMQP side of `taskiq.control.queues`.

Plain AMQP (no management plugin) tells a passive ``queue.declare`` the number
of *ready* messages only, so:

- ready: the task queue's message count;
- dead: its dead-letter queue's message count;
- in flight: None (RabbitMQ counts unacknowledged messages only in the
  management API);
- delayed: None (delay queues are shared by every destination, one per delay,
  and AMQP cannot list them).

Purge is ``queue.purge``, which removes ready messages only: a delivery a
worker holds unacknowledged stays its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager

from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from taskiq.control import QueueDepth, QueueInspector

from taskiq_aio_pika.errors import amqp_errors


class RabbitQueueInspector(QueueInspector):
    """Depth and purge of the task queues one `AioPikaBroker` declares."""

    def __init__(
        self,
        connection: Callable[[], AbstractRobustConnection],
        url: str,
        dead_letter_queues: Mapping[str, str],
    ) -> None:
        self._connection = connection
        self.url = url
        #: Task queue -> its dead-letter queue; the main queue first.
        self.dead_letter_queues = dict(dead_letter_queues)

    def queue_names(self) -> Sequence[str]:
        """Every task queue of the broker, the main queue first."""
        return list(self.dead_letter_queues)

    def _known(self, queue: str | None) -> str:
        name = queue or next(iter(self.dead_letter_queues))
        if name not in self.dead_letter_queues:
            raise ValueError(
                f"No task queue {name!r} in this broker; known queues: "
                f"{sorted(self.dead_letter_queues)}.",
            )
        return name

    async def depth(self, queue: str | None = None) -> QueueDepth:
        """Ready and dead from two passive declares; in flight and delayed unknown."""
        name = self._known(queue)
        async with self._channel() as channel:
            ready = await self._ready(channel, name)
            dead = await self._ready(channel, self.dead_letter_queues[name])
        return QueueDepth(name, ready=ready, delayed=None, in_flight=None, dead=dead)

    async def purge(self, queue: str | None = None) -> int:
        """``queue.purge``: the ready messages go, unacknowledged deliveries stay."""
        name = self._known(queue)
        async with self._channel() as channel:
            with amqp_errors("declare", self.url):
                declared = await channel.get_queue(name, ensure=True)
                result = await declared.purge()
        return int(result.message_count or 0)

    @asynccontextmanager
    async def _channel(self) -> AsyncIterator[AbstractChannel]:
        with amqp_errors("declare", self.url):
            channel = await self._connection().channel()
        try:
            yield channel
        finally:
            if not channel.is_closed:
                await channel.close()

    async def _ready(self, channel: AbstractChannel, name: str) -> int:
        with amqp_errors("declare", self.url):
            queue = await channel.get_queue(name, ensure=True)
            declared = await queue.declare()
        return int(declared.message_count or 0)
