"""Fan-in without a waiter: the member whose arrival completes a set sends the next step.

Every member of a map, filter or group calls `FanInStore.arrive` after its
result is stored. The store keeps the set of members that arrived, atomically
on its server, and answers True to exactly one member: the one whose arrival
made the set complete. It answers True again when that same member arrives
again (its worker died after arriving and the broker delivered it once more),
so the next step is sent at least once, and never by two different members.
No task sits in a worker slot polling for the others.

Result backends that can hold such sets expose ``fan_in_store()``; the
in-memory and Redis result backends are supported here without one.
`fan_in_of` finds the store or raises `NotSupportedError` in one line.
"""

from __future__ import annotations

import abc
import time
import weakref
from typing import Any, Protocol, runtime_checkable

from taskiq.exceptions import NotSupportedError
from taskiq.result_backends.inmemory import InmemoryResultBackend


class FanInStore(abc.ABC):
    """Sets of arrived members, one per fan-in key, with an expiry (``ttl`` seconds)."""

    @abc.abstractmethod
    async def arrive(self, key: str, member: int, total: int, ttl: float) -> bool:
        """Add ``member`` to the set ``key``; True if it is the one that completed it.

        "Completed" means the set holds ``total`` distinct members. The answer
        stays True for that member on every later arrival and False for all
        others, so exactly one member fires (again, if it is redelivered).
        """

    @abc.abstractmethod
    async def arrived(self, key: str) -> int:
        """How many distinct members arrived at ``key`` (0 for an unknown key)."""


@runtime_checkable
class SupportsFanIn(Protocol):
    """A result backend with a fan-in store of its own."""

    def fan_in_store(self) -> FanInStore:
        """The fan-in store on this backend's transport."""


class InmemoryFanInStore(FanInStore):
    """Fan-in sets in this process: for `InMemoryBroker` and tests."""

    def __init__(self) -> None:
        self._sets: dict[str, tuple[set[int], float]] = {}
        self._last: dict[str, int] = {}

    async def arrive(self, key: str, member: int, total: int, ttl: float) -> bool:
        members = self._members(key)
        members.add(member)
        self._sets[key] = (members, time.monotonic() + ttl)
        if len(members) >= total:
            self._last.setdefault(key, member)
        return self._last.get(key) == member

    async def arrived(self, key: str) -> int:
        return len(self._members(key))

    def _members(self, key: str) -> set[int]:
        members, deadline = self._sets.get(key, (set(), 0.0))
        if deadline and deadline < time.monotonic():
            self._sets.pop(key, None)
            self._last.pop(key, None)
            return set()
        return members


_memory_stores: weakref.WeakKeyDictionary[Any, InmemoryFanInStore] = weakref.WeakKeyDictionary()
_redis_stores: weakref.WeakKeyDictionary[Any, FanInStore] = weakref.WeakKeyDictionary()


def fan_in_of(broker: object) -> FanInStore:
    """The fan-in store of ``broker``'s result backend, or `NotSupportedError` saying why."""
    backend = getattr(broker, "result_backend", None)
    if isinstance(backend, SupportsFanIn):
        return backend.fan_in_store()
    if isinstance(backend, InmemoryResultBackend):
        return _memory_stores.setdefault(backend, InmemoryFanInStore())
    redis_store = _redis_store(backend)
    if redis_store is not None:
        return redis_store
    name = type(backend).__name__
    raise NotSupportedError(
        f"Cannot run pipelines with map, filter or group steps: the result backend {name} "
        "cannot count their members. Use a Redis or in-memory result backend.",
        feature="pipeline fan-in",
        implementation=name,
    )


def _redis_store(backend: object) -> FanInStore | None:
    try:
        from taskiq_redis import RedisAsyncResultBackend
    except ImportError:  # pragma: no cover - taskiq-redis is optional
        return None
    if not isinstance(backend, RedisAsyncResultBackend):
        return None
    from taskiq_pipelines.redis_fan_in import RedisFanInStore

    store = _redis_stores.get(backend)
    if store is None:
        store = _redis_stores[backend] = RedisFanInStore(lambda: backend.redis, backend.prefix_str)
    return store
