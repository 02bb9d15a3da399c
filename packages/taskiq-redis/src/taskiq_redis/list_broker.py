"""A Redis list as a queue: simple and fast, at-most-once.

``kick`` LPUSHes onto the list ``queue_name``; a worker BRPOPs from it. A popped
message is gone from Redis, so a worker that dies while holding it loses it:
use `RedisBroker` when every task matters. No delays, priorities or dead letters.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any

from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.acks import AckableMessage
from taskiq.exceptions import SendTaskError
from taskiq.message import BrokerMessage

from taskiq_redis.base_broker import BaseRedisBroker
from taskiq_redis.errors import TRANSIENT_ERRORS, translated

logger = logging.getLogger("taskiq_redis.list_broker")

#: Seconds one BRPOP waits before asking again (keeps dead connections noticed).
BRPOP_TIMEOUT = 2


class ListQueueBroker(BaseRedisBroker):
    """Distributes tasks between workers through a Redis list; at-most-once delivery."""

    def __init__(
        self,
        url: str,
        task_id_generator: Callable[[], str] | None = None,
        result_backend: AsyncResultBackend[Any] | None = None,
        queue_name: str = "taskiq",
        max_connection_pool_size: int | None = None,
        **connection_kwargs: Any,
    ) -> None:
        connection_kwargs.setdefault("socket_timeout", BRPOP_TIMEOUT + 10)
        super().__init__(
            url,
            task_id_generator=task_id_generator,
            result_backend=result_backend,
            queue_name=queue_name,
            max_connection_pool_size=max_connection_pool_size,
            **connection_kwargs,
        )

    async def kick(self, message: BrokerMessage) -> None:
        """LPUSH the message onto its list (the ``queue_name`` label may pick another)."""
        queue = message.labels.get("queue_name") or self.queue_name
        with translated(SendTaskError, self.connector.address):
            await self.redis.lpush(str(queue), message.message)

    async def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        """Pop messages one at a time, reconnecting whenever Redis goes away."""
        outage = self.reconnect_backoff()
        while True:
            try:
                popped: Any = await self.redis.brpop([self.queue_name], timeout=BRPOP_TIMEOUT)
            except TRANSIENT_ERRORS as exc:
                await outage.wait(exc)
                continue
            outage.succeeded()
            if popped is not None:
                yield popped[1]
