"""How a worker publishes events cheaply: batched per event-loop turn, skipped while unwatched.

`EventPublisher.emit` is synchronous and costs a clock read while nobody subscribes:
the publisher asks the feed whether anyone listens (`EventFeed.watched`) at most every
`DEFAULT_CHECK_INTERVAL` seconds and drops events until someone does. While watched,
the events emitted in one event-loop turn go out as one `EventFeed.publish` batch (one
round trip on Redis). So a subscriber sees events from at most ``check_interval``
seconds after it subscribed; `publisher_of` gives one publisher per result backend
(and None when the broker publishes no events: ``broker.with_events(False)``, or a
backend without a feed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import deque

from taskiq.control.events import Event, EventFeed, SupportsEvents

logger = logging.getLogger("taskiq.events")

#: Seconds between two "is anyone listening?" questions of a publisher.
DEFAULT_CHECK_INTERVAL = 2.0
#: Events a publisher holds while a batch is on its way; beyond it the oldest are dropped.
MAX_PENDING = 10_000


class EventPublisher:
    """Publishes the events of one process to one feed (see the module docstring)."""

    def __init__(self, feed: EventFeed, check_interval: float = DEFAULT_CHECK_INTERVAL) -> None:
        self.feed = feed
        self.check_interval = check_interval
        self._pending: deque[Event] = deque(maxlen=MAX_PENDING)
        self._watched = False
        self._checked_at: float | None = None
        self._flushing: asyncio.Task[None] | None = None
        self._failing = False

    def emit(self, event: Event) -> None:
        """Queue ``event`` for this turn's batch (dropped at once while known unwatched)."""
        if not self._watched and not self._check_due():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop to send it from (a synchronous caller outside the worker)
        self._pending.append(event)
        if self._flushing is None or self._flushing.done() or self._flushing.get_loop() is not loop:
            self._flushing = loop.create_task(self._flush_loop(), name="taskiq-events")

    async def flush(self) -> None:
        """Send what is queued now (a worker calls it before it stops)."""
        task = self._flushing
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            await asyncio.wait({task})
        if self._pending:
            await self._flush_loop()

    def _check_due(self) -> bool:
        checked = self._checked_at
        return checked is None or time.monotonic() - checked >= self.check_interval

    async def _flush_loop(self) -> None:
        while self._pending:
            try:
                if self._check_due():
                    self._watched = await self.feed.watched()
                    self._checked_at = time.monotonic()
                batch = list(self._pending)
                self._pending.clear()
                if self._watched:
                    await self.feed.publish(batch)
            except Exception as exc:  # events are for watchers: the worker goes on
                self._pending.clear()
                if not self._failing:
                    logger.warning("Cannot publish events (dropping them): %s", exc)
                self._failing = True
            else:
                self._failing = False


_publishers: weakref.WeakKeyDictionary[object, EventPublisher] = weakref.WeakKeyDictionary()


def publisher_of(broker: object) -> EventPublisher | None:
    """The publisher of ``broker``'s result backend: None if events are off or unsupported."""
    if not getattr(broker, "publish_events", True):
        return None
    backend = getattr(broker, "result_backend", None)
    if not isinstance(backend, SupportsEvents):
        return None
    with contextlib.suppress(TypeError):  # a backend that cannot be weakly referenced
        known = _publishers.get(backend)
        if known is not None:
            return known
    publisher = EventPublisher(backend.event_feed())
    with contextlib.suppress(TypeError):
        _publishers[backend] = publisher
    return publisher
