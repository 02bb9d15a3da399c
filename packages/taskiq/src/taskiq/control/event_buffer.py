"""`BufferedEventStream`: the subscription every feed hands out, fed by its transport.

A transport callback (a NATS message handler, a Redis pub/sub reader, an in-process
publish) calls `BufferedEventStream.put` without awaiting; the reader awaits the
next event. The buffer is bounded: a reader that falls behind loses the oldest events
(counted in ``dropped``) rather than making the publishers wait or memory grow.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from taskiq.control.events import Event, EventStream

#: Events a subscription holds for a slow reader before it drops the oldest.
DEFAULT_BUFFER = 10_000


class BufferedEventStream(EventStream):
    """A bounded buffer of events; ``on_close`` unsubscribes from the transport."""

    def __init__(
        self,
        on_close: Callable[[], Awaitable[None]] | None = None,
        size: int = DEFAULT_BUFFER,
    ) -> None:
        self._events: deque[Event] = deque(maxlen=size)
        self._ready = asyncio.Event()
        self._closed = False
        self._on_close = on_close
        #: Events lost because the reader was too slow.
        self.dropped = 0

    def put(self, event: Event) -> None:
        """Add an event for the reader (ignored once closed)."""
        if self._closed:
            return
        if len(self._events) == self._events.maxlen:
            self.dropped += 1
        self._events.append(event)
        self._ready.set()

    async def __anext__(self) -> Event:
        """The next event, waiting for one; `StopAsyncIteration` once closed."""
        while not self._events:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._events.popleft()

    @property
    def closed(self) -> bool:
        """True after `aclose`."""
        return self._closed

    async def aclose(self) -> None:
        """Stop receiving; a reader waiting now gets `StopAsyncIteration`."""
        if self._closed:
            return
        self._closed = True
        self._events.clear()
        self._ready.set()
        if self._on_close is not None:
            await self._on_close()
