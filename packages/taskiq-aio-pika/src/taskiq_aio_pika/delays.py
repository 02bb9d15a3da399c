"""Delayed delivery without any RabbitMQ plugin.

A message delayed by *d* ms is published to a headers exchange that routes it
to a queue holding only *d*-ms messages (``x-message-ttl = d``). Because every
message in such a queue has the same TTL, the queue expires them in order and
RabbitMQ dead-letters each one back to the task exchange (or, for messages
sent to a named queue, the default exchange) under its original routing key.
Delay queues carry ``x-expires``: one that nobody declared for a while is
deleted, so only recently used delays cost a queue. We redeclare a delay queue
before publishing whenever half of that grace period has passed, which keeps
a queue with messages in it from ever expiring.
"""

from __future__ import annotations

import time

from aio_pika import ExchangeType, Message
from aio_pika.abc import AbstractExchange, AbstractRobustChannel
from aio_pika.exceptions import DeliveryError

from taskiq_aio_pika.topology import (
    DELAY_HEADER,
    DELAY_TARGET_HEADER,
    delay_queue_arguments,
    delay_queue_name,
)

#: Delays are rounded *up* to this many significant digits (at most 1% later) so
#: that jittered delays share queues: at most 900 delay queues per decade.
SIGNIFICANT_DIGITS = 3


def bucket(delay_ms: int) -> int:
    """``delay_ms`` rounded up to `SIGNIFICANT_DIGITS` digits (1234 -> 1240)."""
    step: int = 10 ** max(len(str(delay_ms)) - SIGNIFICANT_DIGITS, 0)
    return -(-delay_ms // step) * step


class DelayQueues:
    """Declares delay queues on demand and publishes delayed messages into them."""

    def __init__(
        self,
        exchange_name: str,
        queue_prefix: str,
        back_to_exchange: str,
        expires_after_ms: int,
    ) -> None:
        self.exchange_name = exchange_name
        self.queue_prefix = queue_prefix
        self.back_to_exchange = back_to_exchange
        self.expires_after_ms = expires_after_ms
        self._declared_at: dict[str, float] = {}
        self._exchange: AbstractExchange | None = None

    async def setup(self, channel: AbstractRobustChannel, declare: bool = True) -> None:
        """Declare (or, with ``declare=False``, just use) the exchange that sorts by delay."""
        self._declared_at.clear()
        if not declare:
            self._exchange = await channel.get_exchange(self.exchange_name, ensure=False)
            return
        self._exchange = await channel.declare_exchange(
            self.exchange_name,
            ExchangeType.HEADERS,
            durable=True,
        )

    async def publish(
        self,
        channel: AbstractRobustChannel,
        message: Message,
        routing_key: str,
        delay_ms: int,
        to_queue: bool,
    ) -> None:
        """Publish ``message`` to reach ``routing_key`` after ``delay_ms`` (at most 1% later)."""
        delay_ms = bucket(delay_ms)
        target = "queue" if to_queue else "exchange"
        message.headers[DELAY_HEADER] = str(delay_ms)
        message.headers[DELAY_TARGET_HEADER] = target
        name = delay_queue_name(self.queue_prefix, delay_ms, to_queue)
        await self._ensure_queue(channel, name, delay_ms, to_queue)
        try:
            await self._publish(message, routing_key)
        except DeliveryError:
            # The delay queue expired or was deleted since we declared it.
            self._declared_at.pop(name, None)
            await self._ensure_queue(channel, name, delay_ms, to_queue)
            await self._publish(message, routing_key)

    async def _publish(self, message: Message, routing_key: str) -> None:
        assert self._exchange is not None, "DelayQueues.setup() was not awaited"
        await self._exchange.publish(message, routing_key=routing_key, mandatory=True)

    async def _ensure_queue(
        self,
        channel: AbstractRobustChannel,
        name: str,
        delay_ms: int,
        to_queue: bool,
    ) -> None:
        declared = self._declared_at.get(name)
        if declared is not None and time.monotonic() - declared < self.expires_after_ms / 2000:
            return
        back_to = "" if to_queue else self.back_to_exchange
        # robust=False: aio-pika must not redeclare every delay queue ever used after
        # a reconnect; we redeclare on demand (and on an unroutable publish).
        queue = await channel.declare_queue(
            name,
            durable=True,
            arguments=delay_queue_arguments(delay_ms, back_to, self.expires_after_ms),
            robust=False,
        )
        await queue.bind(
            self.exchange_name,
            robust=False,
            arguments={
                "x-match": "all",
                DELAY_HEADER: str(delay_ms),
                DELAY_TARGET_HEADER: "queue" if to_queue else "exchange",
            },
        )
        self._declared_at[name] = time.monotonic()
