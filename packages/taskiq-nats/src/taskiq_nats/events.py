"""The events feed on a NATS core subject: ``taskiq.events.<result bucket>``.

Events (`taskiq.control.events`) are published as JSON lines, one message per batch
(`pack_events`), without JetStream: the feed is
live, so nothing is stored. "Is anyone listening?" is a request on the subject's
``.watchers`` child, which every subscription answers: with nobody subscribed the
server replies "no responders" at once, so the question costs one round trip and
no wait. A subscription's events arrive through the backend's connection; while
it is reconnecting, events are lost (the durable record is the task's state).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NATSTimeoutError
from taskiq.control.event_buffer import BufferedEventStream
from taskiq.control.events import Event, EventFeed, EventStream, pack_events, unpack_events
from taskiq.exceptions import ResultBackendError

from taskiq_nats._errors import NOT_STARTED, nats_errors

logger = logging.getLogger("taskiq_nats.events")

#: Seconds `NATSEventFeed.watched` waits for a subscriber's answer.
WATCHED_TIMEOUT = 1.0


def events_subject(bucket: str) -> str:
    """The subject events of the result bucket ``bucket`` travel on."""
    return f"taskiq.events.{bucket}"


class NATSEventFeed(EventFeed):
    """Events on ``subject`` over a result backend's connection."""

    def __init__(self, client: Callable[[], Client | None], subject: str) -> None:
        self._client = client
        self.subject = subject
        self.watchers = f"{subject}.watchers"

    def _connected(self) -> Client:
        client = self._client()
        if client is None:
            raise ResultBackendError(NOT_STARTED)
        return client

    async def publish(self, events: Sequence[Event]) -> None:
        """Publish the batch as one message (the client sends it with its next flush)."""
        client = self._connected()
        with nats_errors(ResultBackendError, "Cannot publish events"):
            for message in pack_events(events):
                await client.publish(self.subject, message)

    async def watched(self) -> bool:
        """Ask the subscriptions; "no responders" (or no answer in time) means nobody."""
        client = self._connected()
        try:
            await client.request(self.watchers, b"", timeout=WATCHED_TIMEOUT)
        except (NoRespondersError, NATSTimeoutError):
            return False
        return True

    async def subscribe(self) -> EventStream:
        """Subscribe to the events and answer the watchers question; live once it returns."""
        client = self._connected()

        async def on_event(msg: Msg) -> None:
            for event in unpack_events(msg.data):
                stream.put(event)

        async def on_question(msg: Msg) -> None:
            if msg.reply:
                await client.publish(msg.reply, b"yes")

        async def close() -> None:
            for subscription in subscriptions:
                try:
                    await subscription.unsubscribe()
                except Exception as exc:  # a closed connection dropped it already
                    logger.debug("Unsubscribing from events failed: %s", exc)

        stream = BufferedEventStream(close)
        with nats_errors(ResultBackendError, f"Cannot subscribe to {self.subject!r}"):
            subscriptions = [
                await client.subscribe(self.subject, cb=on_event),
                await client.subscribe(self.watchers, cb=on_question),
            ]
            await client.flush()  # the server knows both before anyone publishes
        return stream
