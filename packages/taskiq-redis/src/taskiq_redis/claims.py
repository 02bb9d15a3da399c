"""Claims in Redis: one string key per claim, its value the owner, its TTL the lease.

Each operation is one Lua script, so "free or mine" is checked and written in
one step on the server (two processes can never both take a key), and expiry is
Redis's own ``PX``: no process's clock decides when a dead owner's claim ends.
Keys live under ``<prefix>:claims:``, one key each (fine on Redis Cluster).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from taskiq.control.claims import ClaimStore, check_ttl

_CLAIM = """
local holder = redis.call('GET', KEYS[1])
if not holder or holder == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return ARGV[1]
end
return holder
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def claim_key(prefix: str | None, key: str) -> str:
    """Where the claim on ``key`` is stored."""
    return f"{prefix or 'taskiq'}:claims:{key}"


def _ms(ttl: float) -> int:
    return max(1, round(check_ttl(ttl) * 1000))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisClaimStore(ClaimStore):
    """Claims through a result backend's Redis client (``client()`` is looked up per call)."""

    def __init__(self, client: Callable[[], Any], prefix: str | None) -> None:
        self._client = client
        self.prefix = prefix

    async def _run(self, script: str, key: str, *args: Any) -> Any:
        return await self._client().eval(script, 1, claim_key(self.prefix, key), *args)

    async def claim(self, key: str, owner: str, ttl: float) -> str:
        return _text(await self._run(_CLAIM, key, owner, _ms(ttl)))

    async def renew(self, key: str, owner: str, ttl: float) -> bool:
        return bool(await self._run(_RENEW, key, owner, _ms(ttl)))

    async def release(self, key: str, owner: str) -> bool:
        return bool(await self._run(_RELEASE, key, owner))

    async def holder(self, key: str) -> str | None:
        raw = await self._client().get(claim_key(self.prefix, key))
        return None if raw is None else _text(raw)

    async def holders(self, keys: Sequence[str]) -> list[str | None]:
        """The holders of many keys in one round trip: a pipeline of GETs (Cluster-safe).

        The workers read the cancellation requests of all their running tasks with it.
        """
        async with self._client().pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(claim_key(self.prefix, key))
            raw = await pipe.execute()
        return [None if value is None else _text(value) for value in raw]
