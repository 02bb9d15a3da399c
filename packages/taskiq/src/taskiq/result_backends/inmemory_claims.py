"""Claims held in this process: the in-memory backend's `ClaimStore`."""

from __future__ import annotations

import time
from collections.abc import Sequence

from taskiq.control.claims import ClaimStore, check_ttl


class InmemoryClaimStore(ClaimStore):
    """A dict of ``key -> (owner, expires)``; expired entries are dropped when touched.

    Keys claimed once and never touched again (the scheduler's fire claims) are
    swept every ``_SWEEP_EVERY`` claims, so a long-running process does not grow.
    """

    _SWEEP_EVERY = 1024

    def __init__(self) -> None:
        self._claims: dict[str, tuple[str, float]] = {}
        self._until_sweep = self._SWEEP_EVERY

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
        self._until_sweep -= 1
        if self._until_sweep <= 0:
            self._sweep()
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

    def _sweep(self) -> None:
        now = time.monotonic()
        self._claims = {k: entry for k, entry in self._claims.items() if entry[1] > now}
        self._until_sweep = self._SWEEP_EVERY

    async def holders(self, keys: Sequence[str]) -> list[str | None]:
        """The holder of each key, in order (workers read cancellation requests so)."""
        return [self._live(key) for key in keys]
