"""The events feed on Redis pub/sub: one channel per result-backend prefix.

Events (`taskiq.control.events`) are published as JSON lines on
``<prefix_str>:taskiq:events`` (``taskiq:events`` without a prefix, see
`taskiq_redis.keys`); a worker's batch of one event-loop turn is one PUBLISH
(`pack_events`). "Is anyone listening?" is ``PUBSUB NUMSUB`` on that channel. On
Redis Cluster, which counts subscribers per node, the feed always answers yes. Each
subscription holds one connection and a reader task; a dropped connection is logged
once and the reader subscribes again (events published meanwhile are lost: the feed
is live, not a log).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from taskiq.control.event_buffer import BufferedEventStream
from taskiq.control.events import Event, EventFeed, EventStream, pack_events, unpack_events

from taskiq_redis.errors import TRANSIENT_ERRORS

logger = logging.getLogger("taskiq_redis.events")

#: Longest pause between attempts to subscribe again after losing the connection (s).
MAX_RESUBSCRIBE_PAUSE = 2.0


class RedisEventFeed(EventFeed):
    """Events on ``channel`` through a result backend's Redis client."""

    def __init__(self, client: Callable[[], Any], channel: str) -> None:
        self._client = client
        self.channel = channel

    async def publish(self, events: Sequence[Event]) -> None:
        """PUBLISH the batch as one message (more only past `EVENTS_PER_MESSAGE`)."""
        client = self._client()
        for message in pack_events(events):
            await client.publish(self.channel, message)

    async def watched(self) -> bool:
        """``PUBSUB NUMSUB`` of the channel is positive (always True on a cluster)."""
        client = self._client()
        if not isinstance(client, Redis):
            return True
        counts: Any = await client.pubsub_numsub(self.channel)
        return any(int(count) > 0 for _, count in counts)

    async def subscribe(self) -> EventStream:
        """SUBSCRIBE on a connection of its own; events are read by a background task."""
        pubsub = self._client().pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.channel)
        reader: asyncio.Task[None]

        async def close() -> None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, *TRANSIENT_ERRORS):
                await reader
            with contextlib.suppress(*TRANSIENT_ERRORS):
                await pubsub.aclose()

        stream = BufferedEventStream(close)
        reader = asyncio.create_task(self._read(pubsub, stream), name="taskiq-redis-events")
        return stream

    async def _read(self, pubsub: Any, stream: BufferedEventStream) -> None:
        pause = 0.05
        while not stream.closed:
            try:
                message: Any = await pubsub.get_message(timeout=1.0)
            except TRANSIENT_ERRORS as exc:
                if pause == 0.05:
                    logger.warning("The events subscription was interrupted (%s); retrying.", exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, MAX_RESUBSCRIBE_PAUSE)
                with contextlib.suppress(*TRANSIENT_ERRORS):
                    await pubsub.subscribe(self.channel)
                continue
            pause = 0.05
            if message is not None and message.get("type") == "message":
                for event in unpack_events(message["data"]):
                    stream.put(event)
