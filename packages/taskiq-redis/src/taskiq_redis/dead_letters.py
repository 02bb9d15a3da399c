"""Dead letters of a stream queue: what one looks like, and listing/replaying them."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
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


@dataclass(frozen=True)
class DeadLetter:
    """A message that will not be delivered again unless you replay it.

    ``reason`` says why it died (``rejected``, ``delivered 5 times``,
    ``malformed entry``); ``data`` is the original payload, untouched.
    """

    id: str
    data: bytes
    task_id: str | None
    task_name: str | None
    reason: str
    deliveries: int
    origin: str
    dead_at: datetime.datetime | None

    @classmethod
    def from_entry(cls, entry_id: bytes | str, fields: dict[bytes, bytes]) -> DeadLetter:
        """Build from a dead-letter stream entry (field names: see stream_dead_letter.lua)."""

        def text(name: bytes) -> str | None:
            value = fields.get(name)
            return None if value is None else value.decode(errors="replace")

        dead_at_ms = text(b"dead_at_ms")
        return cls(
            id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
            data=fields.get(DATA_FIELD, b""),
            task_id=text(TASK_ID_FIELD),
            task_name=text(TASK_NAME_FIELD),
            reason=text(b"reason") or "unknown",
            deliveries=int(float(text(DELIVERIES_FIELD) or 0)),
            origin=text(b"origin") or "",
            dead_at=_from_ms(dead_at_ms),
        )


def _from_ms(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    return datetime.datetime.fromtimestamp(float(value) / 1000, tz=datetime.timezone.utc)


class DeadLetterStore:
    """The ``{queue}:dead`` stream: list, replay and delete what ended there."""

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

    async def list(self, count: int = 100) -> list[DeadLetter]:
        """The oldest ``count`` dead letters."""
        with translated(ListenError, self.address):
            entries: Any = await self.redis.xrange(self.keys.dead, count=count)
        return [DeadLetter.from_entry(entry_id, fields) for entry_id, fields in entries]

    async def replay(self, dead_letter_id: str) -> bool:
        """Move one dead letter back onto the stream it died on; False if absent."""
        with translated(ListenError, self.address):
            found: Any = await self.redis.xrange(self.keys.dead, dead_letter_id, dead_letter_id)
        if not found:
            return False
        letter = DeadLetter.from_entry(*found[0])
        default = self.keys.stream()
        target = letter.origin if letter.origin in self.targets else default
        with translated(SendTaskError, self.address):
            return await self.scripts.replay(self.keys.dead, target, dead_letter_id) is not None

    async def replay_oldest(self, count: int | None = None) -> int:
        """Replay the oldest ``count`` dead letters (all when None); return how many."""
        replayed = 0
        while count is None or replayed < count:
            batch = 100 if count is None else min(100, count - replayed)
            letters = await self.list(batch)
            if not letters:
                break
            for letter in letters:
                replayed += await self.replay(letter.id)
        return replayed

    async def delete(self, *dead_letter_ids: str) -> int:
        """Forget dead letters for good; return how many existed."""
        if not dead_letter_ids:
            return 0
        with translated(SendTaskError, self.address):
            return int(await self.redis.xdel(self.keys.dead, *dead_letter_ids))
