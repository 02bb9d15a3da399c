"""Events within this process: the in-memory backend's `EventFeed`.

Only subscribers in the same process see them (tests, `InMemoryBroker` apps).
"""

from __future__ import annotations

from collections.abc import Sequence

from taskiq.control.event_buffer import BufferedEventStream
from taskiq.control.events import Event, EventFeed, EventStream


class InmemoryEventFeed(EventFeed):
    """Hands each published event to every open subscription."""

    def __init__(self) -> None:
        self._streams: set[BufferedEventStream] = set()

    async def publish(self, events: Sequence[Event]) -> None:
        """Put ``events`` into every subscription's buffer."""
        for stream in list(self._streams):
            for event in events:
                stream.put(event)

    async def watched(self) -> bool:
        """True while a subscription is open."""
        return bool(self._streams)

    async def subscribe(self) -> EventStream:
        """A new subscription, removed again when closed."""
        stream: BufferedEventStream

        async def forget() -> None:
            self._streams.discard(stream)

        stream = BufferedEventStream(forget)
        self._streams.add(stream)
        return stream
