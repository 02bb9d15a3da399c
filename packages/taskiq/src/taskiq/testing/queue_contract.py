"""The queue-inspection contract suite: one set of tests every `QueueInspector` must pass.

A broker package subclasses `QueueContract` in its tests and overrides the
``broker`` fixture (a started broker on a queue nobody else uses, with
``broker.listen()`` consuming it), and where it can ``routed_queue``: the name
of a second queue the same broker's inspector knows, reached by sending with
the label ``queue_name=<name>``.

Each count a broker reports as ``None`` (it cannot know it) is not checked;
every other count must be exact. Tests whose fixture is not overridden are
skipped.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from taskiq.abc.broker import AsyncBroker
from taskiq.control.queues import QueueDepth, QueueInspector, queues_of
from taskiq.message import BrokerMessage, TaskiqMessage
from taskiq.testing.dead_letter_contract import eventually, settle, taken

#: A delay no test waits out: the message stays delayed for the whole test.
LONG_DELAY = 600


def routed_message(broker: AsyncBroker, **labels: Any) -> BrokerMessage:
    """A task message carrying ``labels`` (``queue_name``, ``delay``), fresh task id."""
    return broker.formatter.dumps(
        TaskiqMessage(
            task_id=uuid.uuid4().hex,
            task_name="contract:waits",
            labels=labels,
            args=[],
            kwargs={},
        ),
    )


def counts(depth: QueueDepth) -> dict[str, int | None]:
    """The four counts of ``depth`` by name (the queue name left out)."""
    return {k: v for k, v in dataclasses.asdict(depth).items() if k != "queue"}


def matches(depth: QueueDepth, **expected: int) -> bool:
    """True if every count ``depth`` reports (is not None) equals ``expected`` (default 0)."""
    return all(
        value is None or value == expected.get(name, 0) for name, value in counts(depth).items()
    )


async def depth_becomes(
    probe: Callable[[], Awaitable[QueueDepth]],
    **expected: int,
) -> QueueDepth:
    """Poll ``probe`` until its known counts are ``expected`` (others 0); the last depth."""
    last: list[QueueDepth] = []

    async def check() -> bool:
        last[:] = [await probe()]
        return matches(last[0], **expected)

    try:
        await eventually(check, True)
    except AssertionError:
        raise AssertionError(f"expected {expected} (else 0), got {last[0]}") from None
    return last[0]


async def _at_least(probe: Callable[[], Awaitable[int | None]], least: int) -> bool:
    value = await probe()
    return value is not None and value >= least


class QueueContract:
    """Subclass and override ``broker`` (and ``routed_queue``) to test a broker."""

    @pytest.fixture
    def broker(self) -> AsyncBroker:
        """A started broker on a fresh queue; override in the broker's test module."""
        raise NotImplementedError("override the `broker` fixture")

    @pytest.fixture
    def inspector(self, broker: AsyncBroker) -> QueueInspector:
        """The inspector under test, found the way operator tools find it."""
        return queues_of(broker)

    async def kick(self, broker: AsyncBroker, count: int, **labels: Any) -> None:
        """Send ``count`` messages with ``labels``."""
        for _ in range(count):
            await broker.kick(routed_message(broker, **labels))

    # -- the contract --------------------------------------------------------

    async def test_the_default_queue_comes_first(self, inspector: QueueInspector) -> None:
        names = list(inspector.queue_names())
        assert names
        assert len(set(names)) == len(names)
        depth = await inspector.depth()
        assert depth.queue == names[0]
        assert [d.queue for d in await inspector.depths()] == names

    async def test_an_empty_queue_is_zero_where_known(self, inspector: QueueInspector) -> None:
        depth = await inspector.depth()
        assert matches(depth), depth
        assert depth.ready == 0, "every broker here can count ready messages"

    async def test_sent_messages_are_ready(
        self,
        broker: AsyncBroker,
        inspector: QueueInspector,
    ) -> None:
        await self.kick(broker, 3)
        await depth_becomes(inspector.depth, ready=3)

    async def test_delivered_unsettled_messages_are_in_flight(
        self,
        broker: AsyncBroker,
        inspector: QueueInspector,
    ) -> None:
        await self.kick(broker, 3)
        await depth_becomes(inspector.depth, ready=3)
        async with taken(broker, 3) as deliveries:
            await depth_becomes(inspector.depth, in_flight=3)
            for delivery in deliveries:
                await settle(delivery.ack())
            await depth_becomes(inspector.depth)

    async def test_delayed_messages_wait_apart(
        self,
        broker: AsyncBroker,
        inspector: QueueInspector,
    ) -> None:
        if not broker.supports_delayed_delivery:
            pytest.skip("this broker has no delayed delivery")
        await self.kick(broker, 2, delay=LONG_DELAY)
        await self.kick(broker, 1)
        depth = await inspector.depth()
        if depth.delayed is None:
            # A broker that cannot count them says so (None), never a guess such as 0,
            # however many are waiting.
            await self.kick(broker, 1, delay=LONG_DELAY)
            assert (await inspector.depth()).delayed is None
            return
        await depth_becomes(inspector.depth, ready=1, delayed=2)

    async def test_dead_letters_are_dead(
        self,
        broker: AsyncBroker,
        inspector: QueueInspector,
    ) -> None:
        await self.kick(broker, 2)
        async with taken(broker, 2) as deliveries:
            for delivery in deliveries:
                assert delivery.dead_letter is not None
                await settle(delivery.dead_letter("contract test"))
        depth = await depth_becomes(inspector.depth, dead=2)
        assert depth.dead in (2, None)

    async def test_purge_empties_the_ready_messages_only(
        self,
        broker: AsyncBroker,
        inspector: QueueInspector,
    ) -> None:
        await self.kick(broker, 1)
        async with taken(broker, 1) as [doomed]:
            assert doomed.dead_letter is not None
            await settle(doomed.dead_letter("contract test"))
        delayed = broker.supports_delayed_delivery
        if delayed:
            await self.kick(broker, 1, delay=LONG_DELAY)
        await self.kick(broker, 3)

        async def ready_now() -> int | None:
            return (await inspector.depth()).ready

        # 3, or 4 on a broker that holds a delayed message with the ready ones
        # (and cannot tell them apart, so reports delayed as None).
        await eventually(lambda: _at_least(ready_now, 3), True)
        before = await inspector.depth()
        assert before.ready in ((3,) if before.delayed is not None else (3, 4)), before
        known_delay = 1 if delayed and before.delayed is not None else 0
        assert await inspector.purge() == before.ready
        await depth_becomes(inspector.depth, delayed=known_delay, dead=1)
        assert await inspector.purge() == 0

    async def test_an_unknown_queue_is_an_error(self, inspector: QueueInspector) -> None:
        with pytest.raises(ValueError, match="no-such-queue"):
            await inspector.depth(f"no-such-queue-{uuid.uuid4().hex[:8]}")


class QueueRoutingContract(QueueContract):
    """The contract for a broker with several queues, reached with the label ``queue_name``."""

    @pytest.fixture
    def routed_queue(self) -> str:
        """A second queue of the same broker; override in the broker's test module."""
        raise NotImplementedError("override the `routed_queue` fixture")

    async def test_purge_empties_only_the_named_queue(
        self,
        broker: AsyncBroker,
        inspector: QueueInspector,
        routed_queue: str,
    ) -> None:
        await self.kick(broker, 2)
        await self.kick(broker, 3, queue_name=routed_queue)
        await depth_becomes(lambda: inspector.depth(routed_queue), ready=3)
        await depth_becomes(inspector.depth, ready=2)
        assert await inspector.purge(routed_queue) == 3
        await depth_becomes(lambda: inspector.depth(routed_queue))
        assert (await inspector.depth()).ready == 2
        assert (await inspector.depth(routed_queue)).queue == routed_queue


__all__ = [
    "QueueContract",
    "QueueRoutingContract",
    "counts",
    "depth_becomes",
    "matches",
    "routed_message",
]
