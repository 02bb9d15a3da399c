"""Rate-limit turns in Redis: per key, the next free start time, taken atomically.

One Lua script reads the server's clock (``TIME``), takes the turn at
``max(next, now)`` and stores ``turn + interval``, so every worker's turn comes
from one clock and one sequence. The key expires once its turns are over.
Keys live under ``<prefix>:pace:``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from taskiq.control.pacing import PaceStore

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local turn = math.max(nxt, now)
local after = turn + tonumber(ARGV[1])
local ttl = math.ceil((after - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', ttl)
return tostring(turn - now)
"""


def pace_key(prefix: str | None, key: str) -> str:
    """Where the next turn of ``key`` is stored."""
    return f"{prefix or 'taskiq'}:pace:{key}"


class RedisPaceStore(PaceStore):
    """Turns through a result backend's Redis client (``client()`` is looked up per call)."""

    def __init__(self, client: Callable[[], Any], prefix: str | None) -> None:
        self._client = client
        self.prefix = prefix

    async def reserve(self, key: str, interval: float) -> float:
        """See `PaceStore.reserve`; times are the Redis server's, in microseconds."""
        micros = max(1, round(interval * 1_000_000))
        raw = await self._client().eval(_RESERVE, 1, pace_key(self.prefix, key), micros)
        return float(raw.decode() if isinstance(raw, bytes) else raw) / 1_000_000
