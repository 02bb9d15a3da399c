"""The fetch budget: how many deliveries a broker may take now, given by the receiver.

A receiver runs at most ``max_async_tasks`` tasks and holds ``max_prefetch`` more; a
broker that fetches in batches (a Redis ``XREADGROUP`` count, a NATS pull, a Kafka
``getmany``) must not take more than that, or fetched tasks wait on a busy worker while
another could run them (and, near ``--max-tasks-per-child``, die with the child).

The receiver hands a `FetchBudget` to `listen_within`, which opens the broker's stream:

- a broker that can use it implements ``listen_with_budget(budget)`` (and its
  ``listen()`` is ``listen_with_budget(UNBOUNDED)``) and reads ``budget.room()``
  before each fetch;
- a broker written for Taskiq implements only ``listen()`` and works unchanged:
  `AsyncBroker.listen_with_budget` calls it (and, for brokers written against this
  project's earlier side channel, publishes the room as ``broker.delivery_room``
  while the stream is open).

A subclass that overrides ``listen()`` below a broker that implements
``listen_with_budget`` is served through its own ``listen()``, so its override is
never bypassed (it gets no budget).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.broker import AsyncBroker
    from taskiq.acks import AckableMessage

    Delivery = bytes | str | AckableMessage


def _unbounded() -> int | None:
    return None


class FetchBudget:
    """How many more deliveries may be fetched right now (`room`; None: no bound)."""

    __slots__ = ("_room",)

    def __init__(self, room: Callable[[], int | None] = _unbounded) -> None:
        self._room = room

    def room(self) -> int | None:
        """Deliveries a fetch may take now: at least 1, or None when nothing bounds it."""
        return self._room()

    def capped(self, batch: int) -> int:
        """``batch`` (a broker's own batch size), or less when the budget says so."""
        room = self._room()
        batch = max(1, batch)
        return batch if room is None else max(1, min(batch, room))

    def within(self, left: Callable[[], int]) -> FetchBudget:
        """This budget, never above ``left()`` (what a task limit still allows, at least 1)."""

        def room() -> int | None:
            cap = max(left(), 1)
            mine = self._room()
            return cap if mine is None else min(mine, cap)

        return FetchBudget(room)


#: The budget of a stream nobody bounds (``listen()`` outside a receiver).
UNBOUNDED = FetchBudget()


def listen_within(broker: AsyncBroker, budget: FetchBudget) -> AsyncGenerator[Delivery, None]:
    """Open ``broker``'s stream of deliveries under ``budget`` (see the module docstring)."""
    from taskiq.abc.broker import AsyncBroker

    if "listen" in vars(broker) or _overrides_listen_below_budget(type(broker)):
        return AsyncBroker.listen_with_budget(broker, budget)
    return broker.listen_with_budget(budget)


def _overrides_listen_below_budget(cls: type[Any]) -> bool:
    mro = cls.__mro__
    listen_owner = next(i for i, klass in enumerate(mro) if "listen" in vars(klass))
    budget_owner = next(i for i, klass in enumerate(mro) if "listen_with_budget" in vars(klass))
    return listen_owner < budget_owner
