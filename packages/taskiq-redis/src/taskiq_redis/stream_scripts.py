"""Typed wrappers around the Lua scripts that keep a stream queue consistent.

Each script is a ``.lua`` file beside this module; redis-py sends it with
EVALSHA and reloads it by itself after a server restart empties the script
cache. Every script touches only the keys of one queue, which share a hash
slot (see `taskiq_redis.keys`), so they run unchanged on Redis Cluster.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from taskiq_redis.connection import read_script


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _fields(raw: Any) -> dict[bytes, bytes]:
    """Turn a Lua flat field list ``[k1, v1, k2, v2]`` into a dict."""
    items = list(raw or [])
    return {bytes(items[i]): bytes(items[i + 1]) for i in range(0, len(items) - 1, 2)}


#: Scripts that re-add a stream entry; they start with the ``stream_entry.lua`` prelude.
_ENTRY_PRELUDE_USERS = frozenset({"stream_requeue", "stream_dead_letter", "stream_replay"})


def _source(name: str) -> str:
    """The text sent to Redis for script ``name``: the shared prelude first if it uses it."""
    text = read_script(f"{name}.lua")
    if name in _ENTRY_PRELUDE_USERS:
        return read_script("stream_entry.lua") + "\n" + text
    return text


class StreamScripts:
    """One registered script per operation, callable with typed arguments."""

    def __init__(self, client: Redis) -> None:
        self._scripts: dict[str, AsyncScript] = {}
        for name in (
            "stream_ack",
            "stream_claim",
            "stream_extend",
            "stream_requeue",
            "stream_dead_letter",
            "stream_replay",
            "stream_read_first",
            "stream_prune",
            "delayed_add",
            "delayed_move",
        ):
            self._scripts[name] = client.register_script(_source(name))

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self._scripts[name](keys=keys, args=args)

    async def read_first(
        self,
        streams: list[str],
        group: str,
        consumer: str,
        count: int,
    ) -> tuple[str, list[tuple[str, dict[bytes, bytes]]]] | None:
        """Read up to ``count`` new entries from the first non-empty stream, without blocking."""
        raw = await self._run("stream_read_first", streams, [group, consumer, count])
        if not raw:
            return None
        return _text(raw[0]), [(_text(item[0]), _fields(item[1])) for item in raw[1]]

    async def ack(self, stream: str, group: str, ids: list[str]) -> int:
        """XACK + XDEL of ``ids``; return how many were still pending."""
        return int(await self._run("stream_ack", [stream], [group, *ids]))

    async def claim(
        self,
        stream: str,
        group: str,
        consumer: str,
        min_idle_ms: int,
        cursor: str,
        count: int,
    ) -> tuple[str, list[tuple[str, dict[bytes, bytes], int]]]:
        """XAUTOCLAIM idle entries; return the next cursor and (id, fields, times delivered)."""
        raw = await self._run(
            "stream_claim",
            [stream],
            [group, consumer, min_idle_ms, cursor, count],
        )
        claimed = [(_text(item[0]), _fields(item[1]), int(item[2])) for item in raw[1]]
        return _text(raw[0]), claimed

    async def extend(self, stream: str, group: str, consumer: str, ids: list[str]) -> set[str]:
        """Reset the idle time of ``ids`` still owned by ``consumer``; return those ids."""
        kept = await self._run("stream_extend", [stream], [group, consumer, *ids])
        return {_text(entry_id) for entry_id in kept}

    async def prune(self, stream: str, group: str, min_idle_ms: int, keep: str) -> int:
        """Delete consumers of ``group`` with nothing pending, idle over ``min_idle_ms``."""
        return int(await self._run("stream_prune", [stream], [group, min_idle_ms, keep]))

    async def requeue(self, stream: str, group: str, consumer: str, ids: list[str]) -> int:
        """Re-add the ``ids`` ``consumer`` still owns at the end of ``stream``; drop the originals.

        Entries another consumer took over (a lost lease) are left to that consumer.
        """
        return int(await self._run("stream_requeue", [stream], [group, consumer, *ids]))

    async def dead_letter(
        self,
        stream: str,
        dead: str,
        group: str,
        entry_id: str,
        reason: str,
        dead_maxlen: int,
    ) -> bool:
        """Move one entry to the dead-letter stream; False if it was already gone."""
        moved = await self._run(
            "stream_dead_letter",
            [stream, dead],
            [group, entry_id, reason, dead_maxlen],
        )
        return bool(moved)

    async def replay(self, dead: str, target: str, dead_id: str) -> str | None:
        """Move a dead letter back onto ``target``; return its new id, or None if absent."""
        new_id = await self._run("stream_replay", [dead, target], [dead_id])
        return None if new_id is None else _text(new_id)

    async def delay(self, delayed: str, delay_ms: int, member: bytes) -> None:
        """Park ``member`` in the delayed set until ``delay_ms`` from now (Redis clock)."""
        await self._run("delayed_add", [delayed], [delay_ms, member])

    async def move_due(self, delayed: str, streams_by_level: list[str], limit: int) -> int:
        """Move due delayed entries to their streams; return ms until the next is due (-1: none)."""
        return int(await self._run("delayed_move", [delayed, *streams_by_level], [limit]))
