"""Pacing: evenly spaced start times handed out to every process of a system.

A rate limit of N per period is one start every ``period / N`` seconds. The
store keeps, per key, the next free start time; `PaceStore.reserve` takes it
atomically and says how long the caller must wait for its turn. Every caller
gets its own turn (no retry storms, no burst across a window boundary: in any
window of one period at most N turns begin), and a caller that waits does so
outside the worker, by delayed delivery.

Result backends that can coordinate implement `SupportsPacing`; `pacing_of`
finds the store or says in one line that the backend cannot.
"""

from __future__ import annotations

import abc
import time
from typing import Protocol, runtime_checkable

from taskiq.exceptions import NotSupportedError


class PaceStore(abc.ABC):
    """Per-key turns ``interval`` seconds apart, atomic across processes."""

    @abc.abstractmethod
    async def reserve(self, key: str, interval: float) -> float:
        """Take the next turn of ``key`` and return the seconds until it (0: now).

        The next turn after this one is ``interval`` seconds later; an idle key
        starts again from now (turns are not saved up).
        """


@runtime_checkable
class SupportsPacing(Protocol):
    """A result backend that can hand out turns for the whole system."""

    def pace_store(self) -> PaceStore:
        """The pace store on this backend's transport."""


def pacing_of(broker: object, feature: str = "rate limits") -> PaceStore:
    """The pace store of ``broker``'s result backend; `NotSupportedError` when it has none."""
    backend = getattr(broker, "result_backend", None)
    if not isinstance(backend, SupportsPacing):
        name = type(backend).__name__
        raise NotSupportedError(
            f"Cannot use {feature}: the result backend {name} cannot pace tasks. Use a "
            "Redis or in-memory result backend.",
            feature=feature,
            implementation=name,
        )
    return backend.pace_store()


class InmemoryPaceStore(PaceStore):
    """Turns for the processes of one interpreter (tests, the in-memory broker)."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}

    async def reserve(self, key: str, interval: float) -> float:
        """See `PaceStore.reserve`."""
        now = time.monotonic()
        turn = max(self._next.get(key, now), now)
        self._next[key] = turn + interval
        return turn - now
