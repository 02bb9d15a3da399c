"""The events contract suite: one set of tests every `EventFeed` must pass.

A package subclasses `EventsContract` in its tests and overrides the ``broker``
fixture: a started broker whose result backend carries events (and whose feed is
private to the test: its own key prefix, subject or bucket, because a feed delivers
to every subscriber of the server). The suite checks the feed itself, and that a
real `Receiver` running tasks on that broker publishes their events.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from taskiq.abc.broker import AsyncBroker
from taskiq.control.event_publisher import EventPublisher
from taskiq.control.events import Event, EventFeed, EventKind, EventStream, events_of
from taskiq.control.workers import WorkerId
from taskiq.receiver import Receiver

#: Seconds any one wait of the suite may take before the test fails.
DEADLINE = 30.0


def event(kind: EventKind = EventKind.TASK_STARTED, **fields: object) -> Event:
    """A made-up event of ``kind`` on a made-up worker, happening now."""
    return Event.now(
        kind,
        task_id=str(fields.pop("task_id", uuid.uuid4().hex)),
        task_name=str(fields.pop("task_name", "contract:task")),
        worker=WorkerId("contract-host", 4242, 0),
        extra=dict(fields),
    )


async def take(stream: EventStream, count: int, match: Callable[[Event], bool]) -> list[Event]:
    """The next ``count`` events of ``stream`` that ``match``, failing after `DEADLINE` s."""

    async def collect() -> list[Event]:
        found: list[Event] = []
        async for item in stream:
            if match(item):
                found.append(item)
                if len(found) == count:
                    break
        return found

    try:
        return await asyncio.wait_for(collect(), DEADLINE)
    except asyncio.TimeoutError:
        pytest.fail(f"{count} matching events did not arrive within {DEADLINE} s")


async def eventually(probe: Callable[[], Awaitable[bool]]) -> None:
    """Wait until ``probe()`` is true, failing after `DEADLINE` seconds."""
    deadline = asyncio.get_running_loop().time() + DEADLINE
    while not await probe():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"condition not met within {DEADLINE} s")
        await asyncio.sleep(0.05)


class EventsContract:
    """Subclass and override ``broker`` to test a result backend's events feed."""

    @pytest.fixture
    def broker(self) -> AsyncBroker:
        """A started broker whose result backend carries events; override it."""
        raise NotImplementedError("override the `broker` fixture")

    @pytest.fixture
    def feed(self, broker: AsyncBroker) -> EventFeed:
        """The feed under test, found the way `taskiq events` finds it."""
        return events_of(broker)

    @pytest.fixture
    async def stream(self, feed: EventFeed) -> AsyncIterator[EventStream]:
        """One open subscription, closed after the test."""
        async with await feed.subscribe() as subscription:
            yield subscription

    async def test_published_events_reach_a_subscriber_in_order(
        self, feed: EventFeed, stream: EventStream
    ) -> None:
        batch = [event(EventKind.TASK_RECEIVED), event(attempt=2), event(EventKind.WORKER_ONLINE)]
        await feed.publish(batch)
        ids = {item.task_id for item in batch}
        got = await take(stream, 3, lambda item: item.task_id in ids)
        assert got == batch

    async def test_every_subscriber_gets_every_event(
        self, feed: EventFeed, stream: EventStream
    ) -> None:
        async with await feed.subscribe() as second:
            sent = event(EventKind.TASK_FAILED, error="ValueError: boom")
            await feed.publish([sent])
            mine = await take(stream, 1, lambda item: item.task_id == sent.task_id)
            theirs = await take(second, 1, lambda item: item.task_id == sent.task_id)
        assert mine == theirs == [sent]
        assert mine[0].extra == {"error": "ValueError: boom"}
        assert mine[0].time.tzinfo is not None

    async def test_watched_while_someone_subscribes(self, feed: EventFeed) -> None:
        subscription = await feed.subscribe()
        try:
            assert await feed.watched()
        finally:
            await subscription.aclose()

    async def test_closed_stream_ends_iteration(self, feed: EventFeed) -> None:
        subscription = await feed.subscribe()
        await subscription.aclose()
        await subscription.aclose()  # idempotent
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(subscription.__anext__(), DEADLINE)

    async def test_publishing_with_nobody_listening_is_no_error(self, feed: EventFeed) -> None:
        await feed.publish([event()])

    async def test_a_receiver_publishes_the_life_of_its_tasks(
        self, broker: AsyncBroker, stream: EventStream
    ) -> None:
        name = f"events-contract-{uuid.uuid4().hex[:8]}"

        async def good() -> int:
            return 1

        async def bad() -> None:
            raise ValueError("no luck")

        good_task = broker.register_task(good, task_name=f"{name}:good")
        bad_task = broker.register_task(bad, task_name=f"{name}:bad")
        receiver = Receiver(broker)
        for task, task_id in ((good_task, "g-" + name), (bad_task, "b-" + name)):
            message = broker.formatter.dumps(
                task.kicker().with_task_id(task_id)._prepare_message(),
            )
            await receiver.callback(message.message)
        await receiver._events.detach()  # sends what is queued, as `Receiver.listen` does
        got = await take(stream, 6, lambda item: (item.task_name or "").startswith(name))
        kinds = [(item.task_id, item.kind) for item in got]
        assert kinds == [
            ("g-" + name, EventKind.TASK_RECEIVED),
            ("g-" + name, EventKind.TASK_STARTED),
            ("g-" + name, EventKind.TASK_SUCCEEDED),
            ("b-" + name, EventKind.TASK_RECEIVED),
            ("b-" + name, EventKind.TASK_STARTED),
            ("b-" + name, EventKind.TASK_FAILED),
        ]
        assert got[-1].extra["error"] == "ValueError: no luck"
        assert got[-1].worker == WorkerId.current()
        assert isinstance(got[2].extra["duration"], float)

    async def test_a_publisher_starts_sending_once_someone_subscribes(
        self, feed: EventFeed
    ) -> None:
        publisher = EventPublisher(feed, check_interval=0.05)
        publisher.emit(event())  # nobody listens yet: asked, and dropped
        await publisher.flush()
        marker = f"late-{uuid.uuid4().hex}"

        async def keep_emitting() -> None:  # within check_interval it asks again
            while True:
                publisher.emit(event(task_id=marker))
                await publisher.flush()
                await asyncio.sleep(0.05)

        async with await feed.subscribe() as late:
            emitter = asyncio.ensure_future(keep_emitting())
            try:
                got = await take(late, 1, lambda item: item.task_id == marker)
            finally:
                emitter.cancel()
        assert got[0].kind is EventKind.TASK_STARTED
