"""The depth of a stream queue, and purge: the Redis side of `taskiq.control.queues`.

Everything is read by one Lua script per queue (``stream_depth.lua``), so the
four counts are one consistent snapshot:

- ready: stream entries the consumer group has not delivered (``XLEN`` minus the
  group's pending count: acknowledged entries are deleted, see `taskiq_redis.keys`);
- in flight: the group's pending entries (delivered, not settled);
- delayed: members of ``{queue}:delayed`` (including ones already due that no
  worker has moved to the stream yet);
- dead: ``XLEN {queue}:dead``.

Purge (``stream_purge.lua``) deletes, in batches, the entries after the group's
last delivered id: exactly the ready ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from taskiq.control import QueueDepth, QueueInspector
from taskiq.exceptions import ListenError, SendTaskError

from taskiq_redis.connection import read_script
from taskiq_redis.errors import RedisAddress, translated
from taskiq_redis.keys import StreamQueueKeys

#: Entries one purge script call deletes at most (Redis is not blocked for long).
PURGE_BATCH = 1000


class RedisQueueInspector(QueueInspector):
    """Depth and purge of a `RedisStreamBroker`'s queue, or of any queue its name gives.

    A queue other than the broker's own is known when any of its keys exists
    (its stream, delayed set or dead letters); it is read with the broker's
    consumer group and priority levels.
    """

    def __init__(
        self,
        redis: Redis,
        group: str,
        keys: StreamQueueKeys,
        address: RedisAddress,
    ) -> None:
        self.redis = redis
        self.group = group
        self.keys = keys
        self.address = address
        self._depth: AsyncScript = redis.register_script(read_script("stream_depth.lua"))
        self._purge: AsyncScript = redis.register_script(read_script("stream_purge.lua"))

    def queue_names(self) -> Sequence[str]:
        """The broker's own queue (others are known only by name: pass them to `depth`)."""
        return [self.keys.queue_name]

    def _keys(self, queue: str | None) -> StreamQueueKeys:
        if queue is None or queue == self.keys.queue_name:
            return self.keys
        return StreamQueueKeys(queue, self.keys.max_priority)

    async def depth(self, queue: str | None = None) -> QueueDepth:
        """One atomic read of the queue's streams, delayed set and dead letters."""
        keys = self._keys(queue)
        with translated(ListenError, self.address):
            raw: Any = await self._depth(
                keys=[*keys.streams_by_level(), keys.delayed, keys.dead],
                args=[self.group],
            )
        ready, in_flight, delayed, dead, found = (int(value) for value in raw)
        if not found and keys is not self.keys:
            raise ValueError(
                f"There is no queue {keys.queue_name!r} on Redis (none of its keys exist); "
                f"this broker's queue is {self.keys.queue_name!r}.",
            )
        return QueueDepth(keys.queue_name, ready, delayed, in_flight, dead)

    async def purge(self, queue: str | None = None) -> int:
        """Delete the entries no consumer has been given yet, a batch per script call."""
        keys = self._keys(queue)
        total = 0
        while True:
            with translated(SendTaskError, self.address):
                deleted = int(
                    await self._purge(
                        keys=keys.streams_by_level(),
                        args=[self.group, PURGE_BATCH],
                    ),
                )
            total += deleted
            if deleted < PURGE_BATCH:
                return total
