"""Dead letters: one value type and one set of operations every broker speaks.

A delivery is dead-lettered when it must not run again (see
`taskiq.control.dead_letter_reasons` for the reasons). Brokers that can keep
such deliveries implement `DeadLetterStore` and hand one out from
``broker.dead_letter_store(queue)``; `dead_letters_of` finds it, or says in
one line that the broker cannot do it. Everything a store returns is a
`DeadLetter`, whatever the broker: an operator tool (``taskiq dead-letters``,
a dashboard) needs no per-broker code.

Replay and delete take ids from `DeadLetter.id`, or act on every dead letter
(`DeadLetterStore.replay_all`, `DeadLetterStore.delete_all`): there is no
default that silently means "everything".
"""

from __future__ import annotations

import abc
import datetime
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from taskiq.control.dead_letter_reasons import ReasonKind, reason_kind
from taskiq.control.task_states import notify_dead_lettered
from taskiq.exceptions import NotSupportedError

logger = logging.getLogger("taskiq.dead_letters")

#: Dead letters one `DeadLetterStore.list` call returns unless told otherwise.
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class DeadLetter:
    """One delivery that will not run again unless it is replayed.

    - ``id``: the broker's handle for replay/delete (a stream entry id, a
      sequence number, a header), stable while the dead letter exists.
    - ``queue``: the queue (stream, subject) the delivery died on.
    - ``task_id`` / ``task_name``: None for a message taskiq did not write.
    - ``reason``: see `taskiq.control.dead_letter_reasons`.
    - ``delivery_count``: deliveries before it died; None where the broker
      cannot know (a RabbitMQ classic queue does not count).
    - ``time``: when it died, an aware UTC datetime; None only for a message
      someone put into the dead-letter queue by hand.
    - ``message``: the original payload, byte for byte (``BrokerMessage.message``).
    - ``details``: what only this broker knows (origin stream, exchange, headers);
      not compared and not hashed.
    """

    id: str
    queue: str
    task_id: str | None
    task_name: str | None
    reason: str
    delivery_count: int | None
    time: datetime.datetime | None
    message: bytes
    details: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def kind(self) -> ReasonKind:
        """The fixed part of ``reason`` (unknown task, malformed, rejected, failed, other)."""
        return reason_kind(self.reason)


@dataclass(frozen=True)
class DeadLetterPage:
    """One page of `DeadLetterStore.list`: oldest first, and where the next page starts.

    ``next_cursor`` is None on the last page; pass it back as ``cursor`` otherwise.
    """

    letters: tuple[DeadLetter, ...]
    next_cursor: str | None


class DeadLetterStore(abc.ABC):
    """The dead letters of one queue: list (paged), count, replay, delete.

    Replay publishes a dead letter again as a fresh delivery (its delivery
    count starts over) on the queue it died on, or on ``to_queue``, and then
    removes it here: a crash in between may leave both copies, never neither.
    ``replay_all`` replays only what was dead already when it started, so a
    message that dies again during the call is not replayed twice.
    """

    @abc.abstractmethod
    async def list(
        self,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> DeadLetterPage:
        """Up to ``limit`` dead letters, oldest first, from ``cursor`` (None: the start)."""

    @abc.abstractmethod
    async def count(self) -> int:
        """How many dead letters there are now."""

    @abc.abstractmethod
    async def replay(self, ids: Collection[str], *, to_queue: str | None = None) -> int:
        """Replay the dead letters ``ids``; return how many existed and were replayed."""

    @abc.abstractmethod
    async def replay_all(self, *, to_queue: str | None = None) -> int:
        """Replay every dead letter there was when the call started; return how many."""

    @abc.abstractmethod
    async def delete(self, ids: Collection[str]) -> int:
        """Forget the dead letters ``ids``; return how many existed."""

    @abc.abstractmethod
    async def delete_all(self) -> int:
        """Forget every dead letter; return how many there were."""


@runtime_checkable
class SupportsDeadLetters(Protocol):
    """A broker that keeps dead letters (Redis streams, RabbitMQ, NATS JetStream, Kafka)."""

    def dead_letter_store(self, queue: str | None = None) -> DeadLetterStore:
        """The store of ``queue``'s dead letters (None: the broker's default queue)."""


def dead_letters_of(broker: object, queue: str | None = None) -> DeadLetterStore:
    """The dead letters of ``broker`` (of ``queue``, default: its main queue).

    Raises `NotSupportedError` for a broker that does not keep dead letters.
    """
    if not isinstance(broker, SupportsDeadLetters):
        raise NotSupportedError(
            f"Dead letters are not supported by {type(broker).__name__}: it drops "
            "what it cannot deliver. Use a broker that keeps them (Redis streams, "
            "RabbitMQ, NATS JetStream, Kafka).",
            feature="dead letters",
            implementation=type(broker).__name__,
        )
    return broker.dead_letter_store(queue)


def log_dead_lettered(
    *,
    queue: str,
    task_id: str | None,
    task_name: str | None,
    reason: str,
) -> None:
    """The one WARNING a worker logs for a delivery it dead-lettered, on every broker.

    It also records the task as dead-lettered (see `taskiq.control.task_states`).
    """
    logger.warning(
        "Dead-lettered task %s [%s] from %r: %s.",
        repr(task_name) if task_name else "(no task name)",
        task_id or "no id",
        queue,
        reason,
    )
    notify_dead_lettered(task_id, reason)


def utc_from_ms(value: object) -> datetime.datetime | None:
    """An aware UTC datetime from milliseconds since the epoch (None if unreadable)."""
    try:
        return datetime.datetime.fromtimestamp(float(str(value)) / 1000, tz=datetime.timezone.utc)
    except (ValueError, OverflowError, OSError):  # not a number, NaN, or out of range
        return None
