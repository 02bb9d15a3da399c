"""Dead-letter queues as the core `DeadLetterStore`: what is in them, replay, delete.

A worker dead-letters a delivery by publishing a copy, with publisher
confirms, to the dead-letter exchange (which routes it to ``<queue>.dead_letter``)
carrying our ``taskiq-dead-*`` headers (reason, queue, time, id, delivery
count), and then acking the original: RabbitMQ's own dead-lettering
(``basic.reject``) cannot record why. If the copy cannot be published, the
delivery is rejected and RabbitMQ dead-letters it itself (reason ``rejected``).
Messages RabbitMQ dead-letters on its own (a quorum queue's delivery limit,
TTL, length limit) are read from their ``x-death`` header.

A queue has no message ids, so a dead letter's id is our ``taskiq-dead-id``
header, or a digest of the message for one RabbitMQ dead-lettered. Every
operation reads the queue from its head with ``basic.get`` on a short-lived
channel; what it does not take (ack) returns to the queue, in order, when the
channel closes. The queue is bounded (``x-max-length``, ``x-message-ttl``),
so a read never has more than that limit to walk.
"""

from __future__ import annotations

import asyncio
import builtins
import datetime
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aio_pika import DeliveryMode, Message
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from taskiq.control import DeadLetter, DeadLetterPage, DeadLetterStore, failed_times
from taskiq.control.dead_letters import DEFAULT_PAGE_SIZE, utc_from_ms

from taskiq_aio_pika.errors import amqp_errors
from taskiq_aio_pika.topology import DELAY_HEADER, DELAY_TARGET_HEADER, PLUGIN_DELAY_HEADER

__all__ = ["DeadLetter", "RabbitDeadLetterStore", "dead_copy", "describe", "revived"]

#: Messages a dead-letter queue keeps; past it, the oldest are dropped.
DEFAULT_DEAD_LETTER_MAX_LENGTH = 100_000
#: Seconds a dead letter is kept (7 days).
DEFAULT_DEAD_LETTER_TTL = 7 * 24 * 3600.0

REASON_HEADER = "taskiq-dead-reason"
QUEUE_HEADER = "taskiq-dead-queue"
TIME_HEADER = "taskiq-dead-at-ms"
ID_HEADER = "taskiq-dead-id"
DELIVERIES_HEADER = "taskiq-deliveries"
_OUR_HEADERS = (REASON_HEADER, QUEUE_HEADER, TIME_HEADER, ID_HEADER, DELIVERIES_HEADER)
_DROPPED_HEADERS: tuple[str, ...] = ("x-death", "x-first-death", "x-last-death")
_DROPPED_HEADERS += (DELAY_HEADER, DELAY_TARGET_HEADER, PLUGIN_DELAY_HEADER, *_OUR_HEADERS)


def limit_arguments(max_length: int | None, ttl: float | None) -> dict[str, Any]:
    """Declaration arguments bounding a dead-letter queue (oldest dropped first)."""
    arguments: dict[str, Any] = {}
    if max_length is not None:
        if max_length < 1:
            raise ValueError("dead_letter_max_length must be at least 1 (or None: unbounded).")
        arguments["x-max-length"] = max_length
    if ttl is not None:
        if ttl <= 0:
            raise ValueError("dead_letter_ttl must be positive seconds (or None: forever).")
        arguments["x-message-ttl"] = int(ttl * 1000)
    return arguments


def dead_copy(delivery: AbstractIncomingMessage, queue: str, reason: str) -> Message:
    """The message a worker publishes to the dead-letter exchange for ``delivery``."""
    headers = dict(delivery.headers)
    headers.update(
        {
            REASON_HEADER: reason,
            QUEUE_HEADER: queue,
            TIME_HEADER: int(time.time() * 1000),
            ID_HEADER: uuid.uuid4().hex,
        },
    )
    count = deliveries_of(delivery)
    if count is not None:
        headers[DELIVERIES_HEADER] = count
    return _copy(delivery, headers)


def deliveries_of(delivery: AbstractIncomingMessage) -> int | None:
    """Deliveries so far, where RabbitMQ counts them (quorum queues); else None."""
    counted = delivery.headers.get("x-delivery-count")
    if isinstance(counted, int):
        return counted + 1
    return None if delivery.redelivered else 1


def revived(message: AbstractIncomingMessage) -> Message:
    """A copy of a dead letter fit to publish again: no death, delay or dead-letter headers."""
    headers = {k: v for k, v in message.headers.items() if not k.startswith(_DROPPED_HEADERS)}
    return _copy(message, headers)


def _copy(message: AbstractIncomingMessage, headers: dict[str, Any]) -> Message:
    return Message(
        body=message.body,
        headers=headers,
        message_id=message.message_id,
        type=message.type,
        priority=message.priority,
        content_type=message.content_type,
        delivery_mode=DeliveryMode.PERSISTENT,
    )


def describe(message: AbstractIncomingMessage, delivery_limit: int | None = None) -> DeadLetter:
    """The `DeadLetter` of a message read from a dead-letter queue.

    ``delivery_limit`` is the task queue's ``x-delivery-limit``, if known: a
    message RabbitMQ dead-lettered for it failed ``delivery_limit + 1`` times.
    """
    headers = message.headers
    death = _last_death(headers)
    limit_hit = _text(death.get("reason")) == "delivery_limit"
    failures = delivery_limit + 1 if limit_hit and delivery_limit is not None else None
    keys = death.get("routing-keys")
    routing_key = keys[0] if isinstance(keys, list) and keys else message.routing_key
    queue = _text(headers.get(QUEUE_HEADER)) or _text(death.get("queue")) or ""
    return DeadLetter(
        id=_text(headers.get(ID_HEADER)) or _digest(message),
        queue=queue,
        task_id=message.message_id,
        task_name=message.type,
        reason=_text(headers.get(REASON_HEADER)) or _death_reason(death, failures),
        delivery_count=failures or _deliveries(headers),
        time=_death_time(headers, death),
        message=message.body,
        details={
            "exchange": _text(death.get("exchange")) or "",
            "routing_key": _text(routing_key) or "",
            "headers": dict(headers),
        },
    )


def _last_death(headers: Mapping[str, Any]) -> Mapping[str, Any]:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], Mapping):
        return deaths[0]
    return {}


def _death_reason(death: Mapping[str, Any], failures: int | None) -> str:
    """RabbitMQ's own reason; its delivery limit reads as ``failed N times``."""
    reason = _text(death.get("reason"))
    if reason == "delivery_limit":
        return "failed (the queue's delivery limit)" if failures is None else failed_times(failures)
    return reason or "unknown"


def _deliveries(headers: Mapping[str, Any]) -> int | None:
    ours = headers.get(DELIVERIES_HEADER)
    return ours if isinstance(ours, int) else None


def _death_time(headers: Mapping[str, Any], death: Mapping[str, Any]) -> datetime.datetime | None:
    ours = headers.get(TIME_HEADER)
    if ours is not None:
        return utc_from_ms(ours)
    moment = death.get("time")
    if isinstance(moment, datetime.datetime):
        if moment.tzinfo is None:
            return moment.replace(tzinfo=datetime.timezone.utc)
        return moment.astimezone(datetime.timezone.utc)
    return None


def _digest(message: AbstractIncomingMessage) -> str:
    """A stable id for a message RabbitMQ (or a person) put into the queue."""
    death = _last_death(message.headers)
    seed = repr((message.message_id, death.get("time"), death.get("count"))).encode()
    return "x" + hashlib.sha256(seed + message.body).hexdigest()[:24]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    # Headers may be forged: any value reads as text, never raises.
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class RabbitDeadLetterStore(DeadLetterStore):
    """The dead-letter queue of one task queue.

    A replay publishes to a queue through the default exchange (``mandatory``,
    confirmed): to ``to_queue``, else the queue it died on, else (a message
    put into the dead-letter queue by hand) ``task_queue``.
    """

    def __init__(
        self,
        connection: Callable[[], AbstractRobustConnection],
        url: str,
        dead_letter_queue: str,
        task_queue: str,
        delivery_limit: int | None = None,
    ) -> None:
        self._connection = connection
        self.delivery_limit = delivery_limit
        self.url = url
        self.dead_letter_queue = dead_letter_queue
        self.task_queue = task_queue

    async def list(
        self, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
    ) -> DeadLetterPage:
        """Up to ``limit`` dead letters after the first ``cursor`` (an offset), oldest first."""
        offset = int(cursor) if cursor and cursor.isdigit() else 0
        letters: builtins.list[DeadLetter] = []
        async with self._opened() as (_, reader):
            async for index, message in reader.messages(offset + limit):
                if index >= offset:
                    letters.append(describe(message, self.delivery_limit))
        more = len(letters) == limit and letters
        return DeadLetterPage(tuple(letters), str(offset + limit) if more else None)

    async def count(self) -> int:
        """The queue's ready messages."""
        async with self._opened() as (_, reader):
            return await reader.waiting()

    async def replay(self, ids: Collection[str], *, to_queue: str | None = None) -> int:
        """Replay dead letters ``ids``; return how many were found and replayed."""
        wanted = set(ids)
        return await self._settle_matching(lambda letter: letter.id in wanted, to_queue, True)

    async def replay_all(self, *, to_queue: str | None = None) -> int:
        """Replay what was waiting when the call started; return how many."""
        return await self._settle_matching(lambda _: True, to_queue, True)

    async def delete(self, ids: Collection[str]) -> int:
        """Forget dead letters ``ids``; return how many were found."""
        wanted = set(ids)
        return await self._settle_matching(lambda letter: letter.id in wanted, None, False)

    async def delete_all(self) -> int:
        """Purge the queue; return how many messages it held."""
        async with self._opened() as (_, reader):
            with amqp_errors("declare", self.url):
                purged = await reader.queue.purge()
        return int(purged.message_count or 0)

    async def replayed_letters(
        self, limit: int | None, to_queue: str | None = None
    ) -> builtins.list[DeadLetter]:
        """Replay the oldest ``limit`` (None: all) and return them (the broker's old API)."""
        done: builtins.list[DeadLetter] = []

        def pick(letter: DeadLetter) -> bool:
            return limit is None or len(done) < limit

        await self._settle_matching(pick, to_queue, True, done)
        return done

    async def _settle_matching(
        self,
        chosen: Callable[[DeadLetter], bool],
        to_queue: str | None,
        replay: bool,
        done: builtins.list[DeadLetter] | None = None,
    ) -> int:
        settled = 0
        async with self._opened() as (channel, reader):
            # Never more than were waiting: a replayed message that dies again must
            # not be picked up by this same call.
            async for _, message in reader.messages(await reader.waiting()):
                letter = describe(message, self.delivery_limit)
                if not chosen(letter):
                    continue
                if replay:
                    target = to_queue or letter.queue or self.task_queue
                    await self._publish(channel, message, target)
                with amqp_errors("send", self.url):
                    await reader.ack(message)
                settled += 1
                if done is not None:
                    done.append(letter)
        return settled

    async def _publish(
        self,
        channel: AbstractChannel,
        message: AbstractIncomingMessage,
        target: str,
    ) -> None:
        with amqp_errors("send", self.url):
            await channel.default_exchange.publish(
                revived(message),
                routing_key=target,
                mandatory=True,
            )

    @asynccontextmanager
    async def _opened(self) -> AsyncIterator[tuple[AbstractChannel, _Reader]]:
        """A channel on the dead-letter queue; what was read and not acked goes back.

        Closing the channel hands the unacked messages back, but a quorum queue
        applies that asynchronously: wait until they are visible again, so that
        the next operation (``list`` then ``replay``) sees them.
        """
        with amqp_errors("declare", self.url):
            channel = await self._connection().channel(
                publisher_confirms=True,
                on_return_raises=True,
            )
        reader: _Reader | None = None
        try:
            with amqp_errors("declare", self.url):
                reader = _Reader(await channel.get_queue(self.dead_letter_queue, ensure=True))
            yield channel, reader
        finally:
            if not channel.is_closed:
                await channel.close()  # unacked messages go back, in their order
        if reader is not None and reader.handed_back:
            await self._wait_visible(reader.handed_back)

    async def _wait_visible(self, count: int) -> None:
        with amqp_errors("declare", self.url):
            channel = await self._connection().channel()
            try:
                queue = await channel.get_queue(self.dead_letter_queue, ensure=True)
                for _ in range(_VISIBLE_POLLS):
                    if await _waiting(queue) >= count:
                        return
                    await asyncio.sleep(_VISIBLE_PAUSE)
            finally:
                await channel.close()


#: How long (polls x pause) an operation waits for handed-back messages to reappear.
_VISIBLE_POLLS = 500
_VISIBLE_PAUSE = 0.02


class _Reader:
    """Reads a dead-letter queue from its head and counts what it will hand back."""

    def __init__(self, queue: AbstractQueue) -> None:
        self.queue = queue
        self.fetched = 0
        self.acked = 0

    @property
    def handed_back(self) -> int:
        """Messages read and not acked: they return to the queue when the channel closes."""
        return self.fetched - self.acked

    async def waiting(self) -> int:
        """The queue's ready messages."""
        return await _waiting(self.queue)

    async def messages(self, most: int) -> AsyncIterator[tuple[int, AbstractIncomingMessage]]:
        """The first ``most`` messages, fetched unacknowledged."""
        for index in range(most):
            message = await self.queue.get(no_ack=False, fail=False)
            if message is None:
                return
            self.fetched += 1
            yield index, message

    async def ack(self, message: AbstractIncomingMessage) -> None:
        """Take ``message`` out of the queue for good."""
        await message.ack()
        self.acked += 1


async def _waiting(queue: AbstractQueue) -> int:
    declared = await queue.declare()
    return int(declared.message_count or 0)
