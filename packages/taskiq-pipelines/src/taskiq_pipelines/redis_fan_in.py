"""Fan-in sets in Redis: one set and one "last member" key per fan-in, updated by one script.

Keys (under the result backend's ``prefix_str``): ``taskiq:pipeline:fanin:{key}``
holds the members that arrived, ``...:{key}:last`` the member that completed it.
Both expire ``ttl`` seconds after the newest arrival.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from taskiq_pipelines.fan_in import FanInStore

_ARRIVE = (Path(__file__).parent / "fan_in_arrive.lua").read_text()


class RedisFanInStore(FanInStore):
    """Atomic on the Redis server: two members never both complete one set."""

    def __init__(self, client: Callable[[], Any], prefix: str | None = None) -> None:
        self._client = client
        self._prefix = f"{prefix}:" if prefix else ""
        self._script: Any = None

    def key(self, key: str) -> str:
        """The Redis key of fan-in set ``key``."""
        return f"{self._prefix}taskiq:pipeline:fanin:{key}"

    async def arrive(self, key: str, member: int, total: int, ttl: float) -> bool:
        if self._script is None:
            self._script = self._client().register_script(_ARRIVE)
        redis_key = self.key(key)
        answer = await self._script(
            keys=[redis_key, f"{redis_key}:last"],
            args=[member, total, max(1, int(ttl * 1000))],
        )
        return int(answer) == 1

    async def arrived(self, key: str) -> int:
        return int(await self._client().scard(self.key(key)))
