"""Queue inspection: how many messages wait, where, on every broker; and purge.

A queue's `QueueDepth` splits its messages by what happens to them next:

- ``ready``: waiting to be delivered to a worker;
- ``delayed``: waiting for their ``delay`` to pass before they become ready;
- ``in_flight``: delivered to a worker (running or prefetched), not settled yet;
- ``dead``: dead-lettered (see `taskiq.control.dead_letters`).

A count the broker cannot know exactly is ``None``, never an estimate: a
dashboard shows "-" rather than a number that looks right and is not (RabbitMQ
cannot count unacknowledged messages without its management plugin).

Brokers implement `QueueInspector` and hand it out from ``broker.queue_inspector()``;
`queues_of` finds it, or says in one line that the broker cannot do it.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from taskiq.exceptions import NotSupportedError


@dataclass(frozen=True)
class QueueDepth:
    """The messages of one queue now, by state; ``None``: this broker cannot know."""

    queue: str
    ready: int | None
    delayed: int | None
    in_flight: int | None
    dead: int | None


class QueueInspector(abc.ABC):
    """Depth of a broker's queues, and purge (the ready messages of one queue).

    ``queue`` None means the broker's default queue. A queue the broker does not
    know is an error (`ValueError` naming the known ones), not a depth of zero.
    """

    @abc.abstractmethod
    def queue_names(self) -> Sequence[str]:
        """The queues this broker sends to or consumes, its default queue first."""

    @abc.abstractmethod
    async def depth(self, queue: str | None = None) -> QueueDepth:
        """The depth of ``queue`` now."""

    async def depths(self) -> list[QueueDepth]:
        """The depth of every queue of `queue_names`, in that order."""
        return [await self.depth(name) for name in self.queue_names()]

    @abc.abstractmethod
    async def purge(self, queue: str | None = None) -> int:
        """Delete the ready messages of ``queue``; return how many were deleted.

        Delayed, in-flight and dead messages stay: a task a worker is running is
        not taken from it, and dead letters have their own ``delete_all``.
        """


@runtime_checkable
class SupportsQueueInspection(Protocol):
    """A broker that can count its queues' messages (Redis streams, RabbitMQ, NATS JetStream)."""

    def queue_inspector(self) -> QueueInspector:
        """The inspector of this broker's queues (the broker must be started)."""


def queues_of(broker: object) -> QueueInspector:
    """The `QueueInspector` of ``broker``.

    Raises `NotSupportedError` for a broker that cannot count its queues.
    """
    if not isinstance(broker, SupportsQueueInspection):
        raise NotSupportedError(
            f"Not supported by {type(broker).__name__}: queue inspection (it cannot "
            "count the messages of its queues). Use a broker that can (Redis streams, "
            "RabbitMQ, NATS JetStream).",
            feature="queue inspection",
            implementation=type(broker).__name__,
        )
    return broker.queue_inspector()
