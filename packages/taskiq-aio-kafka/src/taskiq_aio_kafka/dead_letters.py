"""The dead-letter topic as the core `DeadLetterStore` contract.

A record lands in the dead-letter topic when the receiver dead-letters it
(undecodable, unknown task, ``Context.reject()``) or after ``max_deliveries``
failed deliveries (see `taskiq_aio_kafka.dead_letter_topic` for how it is
stored and settled). One topic holds the dead letters of every topic of the
broker: the store of the broker lists all of them, the store of one topic
only those that died on it. A dead letter's id is its offset in the
dead-letter topic (``"42"``); anything else names no dead letter.
"""

from __future__ import annotations

import builtins
import datetime
from collections.abc import Collection

from taskiq.control import DeadLetter, DeadLetterPage, DeadLetterStore
from taskiq.control.dead_letters import DEFAULT_PAGE_SIZE
from taskiq.exceptions import BrokerError

from taskiq_aio_kafka import headers as hdr
from taskiq_aio_kafka.dead_letter_topic import DeadLetterTopic
from taskiq_aio_kafka.errors import kafka_errors
from taskiq_aio_kafka.reader import Record

__all__ = ["DeadLetter", "KafkaDeadLetterStore", "to_dead_letter"]

_READ = "Cannot read the dead-letter topic"
_REPLAY = "Replaying dead letters failed part-way; list them again"
_DELETE = "Deleting dead letters failed part-way; list them again"


class KafkaDeadLetterStore(DeadLetterStore):
    """The dead letters of one broker (``origin=None``) or of its topic ``origin``.

    A replay sends the record (value, key, headers) to the topic it died on,
    or to ``to_queue`` (a topic name), with a fresh delivery count, then
    appends the marker that settles it: a crash in between leaves both.
    """

    def __init__(self, topic: DeadLetterTopic, origin: str | None, fallback_topic: str) -> None:
        self.topic = topic
        self.origin = origin
        #: Where a letter with no origin (written by hand) is replayed to.
        self.fallback_topic = fallback_topic

    async def list(
        self, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
    ) -> DeadLetterPage:
        """Up to ``limit`` dead letters from offset ``cursor`` on, oldest first."""
        if limit < 1:
            raise ValueError(f"A page holds at least one dead letter; got limit={limit}.")
        letters = await self._live(_cursor(cursor))
        page = tuple(to_dead_letter(offset, record) for offset, record in letters[:limit])
        more = len(letters) > limit
        return DeadLetterPage(page, str(int(page[-1].id) + 1) if more else None)

    async def count(self) -> int:
        """How many dead letters are not settled now (reads the topic)."""
        return len(await self._live(0))

    async def letters(self) -> builtins.list[DeadLetter]:
        """Every dead letter, oldest first, in one read."""
        return [to_dead_letter(offset, record) for offset, record in await self._live(0)]

    async def replay(self, ids: Collection[str], *, to_queue: str | None = None) -> int:
        """Send dead letters ``ids`` back (to ``to_queue`` if given); return how many existed."""
        chosen = _offsets(ids)
        if not chosen:
            return 0
        letters = [(o, r) for o, r in await self._live(min(chosen)) if o in chosen]
        return await self._replay(letters, to_queue)

    async def replay_all(self, *, to_queue: str | None = None) -> int:
        """Replay every dead letter the topic held when the call began."""
        return await self._replay(await self._live(0), to_queue)

    async def delete(self, ids: Collection[str]) -> int:
        """Settle dead letters ``ids`` without replaying them; return how many existed."""
        chosen = _offsets(ids)
        if not chosen:
            return 0
        found = [o for o, _ in await self._live(min(chosen)) if o in chosen]
        with kafka_errors(BrokerError, _DELETE):
            await self.topic.settle(found)
        return len(found)

    async def delete_all(self) -> int:
        """Settle every dead letter; return how many there were."""
        found = [offset for offset, _ in await self._live(0)]
        with kafka_errors(BrokerError, _DELETE):
            await self.topic.settle(found)
        return len(found)

    async def _live(self, start: int) -> builtins.list[tuple[int, Record]]:
        with kafka_errors(BrokerError, _READ):
            letters = await self.topic.live(start)
        if self.origin is None:
            return list(letters.items())
        return [(o, r) for o, r in letters.items() if _origin(r) == self.origin]

    async def _replay(
        self, letters: builtins.list[tuple[int, Record]], to_queue: str | None
    ) -> int:
        """Republish, and only once every copy is acknowledged, settle the letters."""
        if not letters:
            return 0
        targets = [(r, to_queue or _origin(r) or self.fallback_topic) for _, r in letters]
        with kafka_errors(BrokerError, _REPLAY):
            await self.topic.republish(targets)
            await self.topic.settle(offset for offset, _ in letters)
        return len(letters)


def to_dead_letter(offset: int, record: Record) -> DeadLetter:
    """The `DeadLetter` of the dead-letter record at ``offset``."""
    headers = hdr.as_dict(record.headers)
    raw_count = headers.get(hdr.DELIVERIES, "")
    return DeadLetter(
        id=str(offset),
        queue=_origin(record) or "",
        task_id=headers.get(hdr.TASK_ID),
        task_name=headers.get(hdr.TASK_NAME),
        reason=headers.get(hdr.DEAD_REASON, "unknown"),
        delivery_count=int(raw_count) if raw_count.isdecimal() else None,
        time=_utc(headers.get(hdr.DEAD_AT)),
        message=record.value or b"",
        details={"offset": offset, "key": record.key, "headers": headers},
    )


def _origin(record: Record) -> str | None:
    return hdr.as_dict(record.headers).get(hdr.ORIGINAL_TOPIC)


def _offsets(ids: Collection[str]) -> set[int]:
    """The ids that can be offsets; anything else names no dead letter."""
    return {int(i) for i in ids if isinstance(i, str) and i.isdecimal()}


def _cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdecimal():
        raise ValueError(f"Not a dead-letter cursor: {cursor!r}; pass a page's next_cursor.")
    return int(cursor)


def _utc(seconds: str | None) -> datetime.datetime | None:
    try:
        value = float(seconds or "")
    except ValueError:
        return None
    return datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)
