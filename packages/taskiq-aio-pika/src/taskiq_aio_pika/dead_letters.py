"""Reading and replaying dead-lettered tasks.

A task queue dead-letters a message when a worker rejects it (malformed,
unknown task, ``Context.reject()``) or, for quorum queues, when its delivery
limit is hit. RabbitMQ records why and where in the ``x-death`` header; these
helpers turn that into `DeadLetter` records and can publish a message back to
where it died, with publisher confirms, before removing it from the DLQ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from taskiq_aio_pika.topology import DELAY_HEADER, DELAY_TARGET_HEADER, PLUGIN_DELAY_HEADER

_DROPPED_HEADERS: tuple[str, ...] = ("x-death", "x-first-death", "x-last-death")
_DROPPED_HEADERS += (DELAY_HEADER, DELAY_TARGET_HEADER, PLUGIN_DELAY_HEADER)


@dataclass(frozen=True)
class DeadLetter:
    """One message in a dead-letter queue, with where and why it died."""

    task_id: str | None
    task_name: str | None
    body: bytes
    queue: str | None
    reason: str | None
    exchange: str
    routing_key: str
    death_count: int
    headers: Mapping[str, Any] = field(default_factory=dict)


def _last_death(message: AbstractIncomingMessage) -> Mapping[str, Any]:
    deaths = message.headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], Mapping):
        return deaths[0]
    return {}


def describe(message: AbstractIncomingMessage) -> DeadLetter:
    """Build the `DeadLetter` record of a message read from a dead-letter queue."""
    death = _last_death(message)
    keys = death.get("routing-keys") or [message.routing_key or ""]
    return DeadLetter(
        task_id=message.message_id,
        task_name=message.type,
        body=message.body,
        queue=_text(death.get("queue")),
        reason=_text(death.get("reason")),
        exchange=_text(death.get("exchange")) or "",
        routing_key=_text(keys[0]) or "",
        death_count=int(death.get("count") or 1),
        headers=dict(message.headers),
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


async def peek(queue: AbstractQueue, limit: int) -> list[DeadLetter]:
    """Read up to ``limit`` dead letters without removing them.

    Messages are fetched unacknowledged; the caller closes the channel, which
    puts them back in their original order.
    """
    letters: list[DeadLetter] = []
    while len(letters) < limit:
        message = await queue.get(no_ack=False, fail=False)
        if message is None:
            break
        letters.append(describe(message))
    return letters


def revived(message: AbstractIncomingMessage) -> Message:
    """A copy of a dead letter fit to publish again: no death or delay headers."""
    headers = {k: v for k, v in message.headers.items() if not k.startswith(_DROPPED_HEADERS)}
    return Message(
        body=message.body,
        headers=headers,
        message_id=message.message_id,
        type=message.type,
        priority=message.priority,
        content_type=message.content_type,
        delivery_mode=DeliveryMode.PERSISTENT,
    )


async def replay_one(
    channel: AbstractChannel,
    queue: AbstractQueue,
    task_queue: str,
) -> DeadLetter | None:
    """Publish the oldest dead letter back where it died; ack it once confirmed.

    A message without an ``x-death`` record (put into the DLQ by hand) goes
    straight to ``task_queue``, the queue this DLQ belongs to.
    """
    message = await queue.get(no_ack=False, fail=False)
    if message is None:
        return None
    letter = describe(message)
    exchange_name, routing_key = letter.exchange, letter.routing_key
    if letter.queue is None:
        exchange_name, routing_key = "", task_queue
    exchange = (
        await channel.get_exchange(exchange_name, ensure=False)
        if exchange_name
        else channel.default_exchange
    )
    try:
        await exchange.publish(revived(message), routing_key=routing_key, mandatory=True)
    except BaseException:
        await message.nack(requeue=True)
        raise
    await message.ack()
    return letter
