"""Claims held in this process: the in-memory backend's `ClaimStore`."""

from __future__ import annotations

import time
from collections.abc import Sequence

from taskiq.control.claims import ClaimStore, check_ttl


class InmemoryClaimStore(ClaimStore):
    """A dict of ``key -> (owner, expires)``; expired entries are dropped when touched."""

    def __init__(self) -> None:
        self._claims: dict[str, tuple[str, float]] = {}

    def _live(self, key: str) -> str | None:
        entry = self._claims.get(key)
        if entry is None:
            return None
        if entry[1] <= time.monotonic():
            del self._claims[key]
            return None
        return entry[0]

    async def claim(self, key: str, owner: str, ttl: float) -> str:
        check_ttl(ttl)
        holder = self._live(key)
        if holder is None or holder == owner:
            self._claims[key] = (owner, time.monotonic() + ttl)
            return owner
        return holder

    async def renew(self, key: str, owner: str, ttl: float) -> bool:
        check_ttl(ttl)
        if self._live(key) != owner:
            return False
        self._claims[key] = (owner, time.monotonic() + ttl)
        return True

    async def release(self, key: str, owner: str) -> bool:
        if self._live(key) != owner:
            return False
        del self._claims[key]
        return True

    async def holder(self, key: str) -> str | None:
        return self._live(key)

    async def holders(self, keys: Sequence[str]) -> list[str | None]:
        """The holder of each key, in order (workers read cancellation requests so)."""
        return [self._live(key) for key in keys]
