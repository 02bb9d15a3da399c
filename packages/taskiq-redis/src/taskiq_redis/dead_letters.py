"""The dead letters of a stream queue: the ``{queue}:dead`` stream as a `DeadLetterStore`.

Each dead letter is one entry of ``{queue}:dead`` (written atomically by
``stream_dead_letter.lua``: the original fields plus ``deliveries``, ``reason``,
``origin``, ``origin_id`` and ``dead_at_ms``), and its id is the entry id. The
stream is trimmed to about ``dead_letter_maxlen`` entries (100 000 by default),
oldest first, on every write.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from redis.asyncio import Redis
from taskiq.control import DeadLetter, DeadLetterPage, DeadLetterStore
from taskiq.control.dead_letters import DEFAULT_PAGE_SIZE, utc_from_ms
from taskiq.exceptions import ListenError, SendTaskError

from taskiq_redis.errors import RedisAddress, translated
from taskiq_redis.keys import (
    DATA_FIELD,
    DELIVERIES_FIELD,
    TASK_ID_FIELD,
    TASK_NAME_FIELD,
    StreamQueueKeys,
)
from taskiq_redis.stream_scripts import StreamScripts

__all__ = ["DeadLetter", "RedisDeadLetterStore", "letter_from_entry"]

#: Fields the dead-letter script adds; a replayed entry leaves them behind.
DEAD_FIELDS = frozenset({b"deliveries", b"reason", b"origin", b"origin_id", b"dead_at_ms"})
_ENTRY_ID = re.compile(r"\A\d+(-\d+)?\Z")


def letter_from_entry(queue: str, entry_id: bytes | str, fields: dict[bytes, bytes]) -> DeadLetter:
    """The `DeadLetter` of one ``{queue}:dead`` entry."""

    def text(name: bytes) -> str | None:
        value = fields.get(name)
        return None if value is None else value.decode(errors="replace")

    return DeadLetter(
        id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
        queue=queue,
        task_id=text(TASK_ID_FIELD),
        task_name=text(TASK_NAME_FIELD),
        reason=text(b"reason") or "unknown",
        delivery_count=int(float(text(DELIVERIES_FIELD) or 0)),
        time=utc_from_ms(text(b"dead_at_ms")),
        message=fields.get(DATA_FIELD, b""),
        details={"origin": text(b"origin") or "", "origin_id": text(b"origin_id") or ""},
    )


class RedisDeadLetterStore(DeadLetterStore):
    """The ``{queue}:dead`` stream: list, count, replay and delete what ended there.

    Replay onto the stream it died on is one Lua script (atomic); replay to
    another queue adds the entry there first and deletes it here second (the
    two keys may live on different cluster slots), so a crash in between
    leaves two copies rather than none.
    """

    def __init__(
        self,
        redis: Redis,
        scripts: StreamScripts,
        keys: StreamQueueKeys,
        address: RedisAddress,
        targets: list[str] | None = None,
    ) -> None:
        self.targets = targets or keys.streams_by_level()
        self.redis = redis
        self.scripts = scripts
        self.keys = keys
        self.address = address

    async def list(
        self, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
    ) -> DeadLetterPage:
        """Up to ``limit`` dead letters after ``cursor`` (an entry id), oldest first."""
        entries = await self._range("-" if cursor is None else f"({cursor}", "+", limit)
        letters = tuple(letter_from_entry(self.keys.queue_name, *entry) for entry in entries)
        more = len(letters) == limit and letters
        return DeadLetterPage(letters, letters[-1].id if more else None)

    async def count(self) -> int:
        """XLEN of the dead-letter stream."""
        with translated(ListenError, self.address):
            return int(await self.redis.xlen(self.keys.dead))

    async def replay(self, ids: Collection[str], *, to_queue: str | None = None) -> int:
        """Put dead letters ``ids`` back (deliveries reset); return how many existed."""
        replayed = 0
        for dead_id in _valid(ids):
            replayed += await self._replay_one(dead_id, to_queue)
        return replayed

    async def replay_all(self, *, to_queue: str | None = None) -> int:
        """Replay every entry up to the newest one there was when the call started."""
        with translated(ListenError, self.address):
            newest: Any = await self.redis.xrevrange(self.keys.dead, count=1)
        if not newest:
            return 0
        last = _text(newest[0][0])
        replayed = 0
        while batch := await self._range("-", last, DEFAULT_PAGE_SIZE):
            for entry_id, _ in batch:
                replayed += await self._replay_one(_text(entry_id), to_queue)
        return replayed

    async def replay_oldest(self, count: int | None = None) -> int:
        """Replay the oldest ``count`` dead letters (all when None); return how many."""
        if count is None:
            return await self.replay_all()
        page = await self.list(limit=count)
        return await self.replay([letter.id for letter in page.letters])

    async def delete(self, ids: Collection[str]) -> int:
        """Forget dead letters ``ids``; return how many existed."""
        valid = _valid(ids)
        if not valid:
            return 0
        with translated(SendTaskError, self.address):
            return int(await self.redis.xdel(self.keys.dead, *valid))

    async def delete_all(self) -> int:
        """Drop the dead-letter stream in one transaction; return how many it held."""
        with translated(SendTaskError, self.address):
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.xlen(self.keys.dead)
                pipe.delete(self.keys.dead)
                length, _ = await pipe.execute()
        return int(length)

    async def _range(self, start: str, end: str, count: int) -> Any:
        with translated(ListenError, self.address):
            return await self.redis.xrange(self.keys.dead, start, end, count=count)

    async def _replay_one(self, dead_id: str, to_queue: str | None) -> int:
        if to_queue is not None:
            return await self._move_to(dead_id, StreamQueueKeys(to_queue).stream())
        found = await self._range(dead_id, dead_id, 1)
        if not found:
            return 0
        origin = (found[0][1].get(b"origin") or b"").decode(errors="replace")
        target = origin if origin in self.targets else self.keys.stream()
        with translated(SendTaskError, self.address):
            return int(await self.scripts.replay(self.keys.dead, target, dead_id) is not None)

    async def _move_to(self, dead_id: str, target: str) -> int:
        found = await self._range(dead_id, dead_id, 1)
        if not found:
            return 0
        fields = {k: v for k, v in found[0][1].items() if k not in DEAD_FIELDS}
        with translated(SendTaskError, self.address):
            await self.redis.xadd(target, fields or {DATA_FIELD: b""})
            return int(await self.redis.xdel(self.keys.dead, dead_id))


def _valid(ids: Collection[str]) -> list[str]:
    """The ids that can be stream entry ids; anything else names no dead letter."""
    return [dead_id for dead_id in ids if _ENTRY_ID.match(dead_id)]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
