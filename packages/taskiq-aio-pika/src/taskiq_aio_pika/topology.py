"""Names and declaration arguments of every exchange and queue the broker uses.

Topology (``<x>`` = exchange_name, ``<q>`` = a task queue's name)::

    publisher ──► <x> (topic by default) ──binding key (<q>)──► <q> ──consumers──► workers
        │                                                  │ reject/nack
        │  label queue_name=<q>: default exchange ─► <q>   ▼
        │                                           <x>.dead_letter (direct)
        │                                                  │ routing key <q>
        │                                                  ▼
        │                                           <q>.dead_letter   (inspect / replay)
        │ label delay=s
        ▼
    <x>.delay (headers) ─► <delay>.<ms> / <delay>.<ms>.direct  (TTL = ms, x-expires)
                                 └── dead-letters back to <x> / default exchange,
                                     keeping the message's routing key
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from aio_pika import ExchangeType

#: Header the delay exchange routes on (value: the delay in milliseconds, as text).
#: Not ``x-``-prefixed: headers exchanges ignore ``x-`` headers when matching.
DELAY_HEADER = "taskiq-delay-ms"
#: Header saying where a delayed message goes afterwards: "exchange" or "queue".
DELAY_TARGET_HEADER = "taskiq-delay-target"
#: Header the delayed-message-exchange plugin reads.
PLUGIN_DELAY_HEADER = "x-delay"


class _DefaultRoutingKey(str):
    """The ``routing_key`` nobody passed: ``"#"`` as Taskiq's signature shows it.

    A queue made from it is bound with its own name instead, so that apps with
    different ``queue_name`` on one exchange never get each other's tasks; an
    explicit ``routing_key="#"`` (a plain string) still binds the catch-all.
    """

    __slots__ = ()


DEFAULT_ROUTING_KEY: str = _DefaultRoutingKey("#")


def is_default_routing_key(routing_key: str) -> bool:
    """True for the constructor's default, not for a ``"#"`` the user wrote."""
    return isinstance(routing_key, _DefaultRoutingKey)


def main_binding(routing_key: str) -> str | None:
    """The main queue's `Queue.routing_key`: None (its own name) unless one was given."""
    return None if is_default_routing_key(routing_key) else routing_key


class QueueType(str, enum.Enum):
    """RabbitMQ queue types the broker can declare."""

    CLASSIC = "classic"
    QUORUM = "quorum"
    #: Accepted so Taskiq's ``QueueType.STREAM`` imports, but refused by `Queue`:
    #: stream queues have no dead-lettering and never forget a message.
    STREAM = "stream"


@dataclass(frozen=True)
class Queue:
    """One task queue: its name, binding key and RabbitMQ arguments.

    ``routing_key`` is the binding key on the broker's exchange (topic patterns
    such as ``"reports.*"`` work with a topic exchange); it defaults to the name.
    ``arguments`` are merged over the broker's own (dead-lettering, priority, type).

    The keyword-only fields are those of Taskiq's ``taskiq_aio_pika.Queue``:
    ``type`` is another spelling of ``queue_type``; ``declare=False`` uses a
    queue that must already exist; ``durable``, ``exclusive``, ``auto_delete``
    and ``passive`` go to the declaration, ``bind_arguments`` to the binding and
    ``consumer_arguments`` to the consumer.
    """

    name: str = "taskiq"
    routing_key: str | None = None
    max_priority: int | None = None
    queue_type: QueueType = QueueType.CLASSIC
    arguments: Mapping[str, Any] = field(default_factory=dict)
    _: KW_ONLY
    type: QueueType | str | None = None
    declare: bool = True
    durable: bool = True
    exclusive: bool = False
    passive: bool = False
    auto_delete: bool = False
    timeout: float | None = None
    bind_arguments: Mapping[str, Any] = field(default_factory=dict)
    bind_timeout: float | None = None
    consumer_arguments: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("A queue needs a non-empty name.")
        chosen = QueueType(self.queue_type if self.type is None else self.type)
        if chosen is QueueType.STREAM:
            raise ValueError(
                f"Queue {self.name!r}: stream queues are not supported (no dead-lettering, "
                "no per-message ack semantics); use QueueType.CLASSIC or QueueType.QUORUM.",
            )
        object.__setattr__(self, "queue_type", chosen)
        object.__setattr__(self, "type", chosen)
        if self.max_priority is not None and not 1 <= self.max_priority <= 255:
            raise ValueError(f"max_priority of queue {self.name!r} must be 1..255.")
        if self.max_priority is not None and self.queue_type is QueueType.QUORUM:
            raise ValueError(
                f"Queue {self.name!r}: quorum queues do not support x-max-priority on "
                "RabbitMQ 3.x; use a classic queue for priorities (or separate queues).",
            )

    @property
    def binding_key(self) -> str:
        """Key the queue is bound with on the broker's exchange."""
        return self.name if self.routing_key is None else self.routing_key

    @property
    def dead_letter_queue(self) -> str:
        """Default name of this queue's dead-letter queue."""
        return f"{self.name}.dead_letter"


@dataclass(frozen=True)
class Exchange:
    """The exchange tasks are published to, as Taskiq's ``taskiq_aio_pika.Exchange``.

    Passing ``exchange=Exchange(...)`` to `AioPikaBroker` sets ``exchange_name``,
    ``exchange_type`` and ``declare_exchange`` at once; ``durable``,
    ``auto_delete``, ``internal``, ``passive`` and ``arguments`` go to the
    declaration.
    """

    name: str = "taskiq"
    type: ExchangeType = ExchangeType.TOPIC
    internal: bool = False
    passive: bool = False
    auto_delete: bool = False
    declare: bool = True
    durable: bool = True
    arguments: Mapping[str, Any] = field(default_factory=dict)
    timeout: float | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("An exchange needs a non-empty name.")
        object.__setattr__(self, "type", ExchangeType(self.type))


def queue_arguments(queue: Queue, dead_letter_exchange: str) -> dict[str, Any]:
    """Declaration arguments of a task queue: dead-lettering, priority and type."""
    arguments: dict[str, Any] = {
        "x-dead-letter-exchange": dead_letter_exchange,
        "x-dead-letter-routing-key": queue.name,
    }
    if queue.max_priority is not None:
        arguments["x-max-priority"] = queue.max_priority
    if queue.queue_type is QueueType.QUORUM:
        arguments["x-queue-type"] = "quorum"
    arguments.update(queue.arguments)
    return arguments


def dead_letter_arguments(queue: Queue) -> dict[str, Any]:
    """Arguments of a dead-letter queue: same type as its task queue, nothing else."""
    if queue.queue_type is QueueType.QUORUM:
        return {"x-queue-type": "quorum"}
    return {}


def delay_queue_name(prefix: str, delay_ms: int, to_queue: bool) -> str:
    """Name of the TTL queue holding messages delayed by ``delay_ms``."""
    return f"{prefix}.{delay_ms}" + (".direct" if to_queue else "")


def delay_queue_arguments(
    delay_ms: int,
    back_to_exchange: str,
    expires_after_ms: int,
) -> dict[str, Any]:
    """A queue whose messages expire after ``delay_ms`` and go back to an exchange.

    No ``x-dead-letter-routing-key``: the message keeps the routing key it was
    published with, so one delay queue serves every destination. ``x-expires``
    deletes the queue once nobody has declared it for a while, which bounds the
    number of delay queues to the delays used recently.
    """
    return {
        "x-message-ttl": delay_ms,
        "x-dead-letter-exchange": back_to_exchange,
        "x-expires": delay_ms + expires_after_ms,
    }
