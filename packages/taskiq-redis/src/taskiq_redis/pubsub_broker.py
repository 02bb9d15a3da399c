"""Redis pub/sub: every listening worker gets every task (broadcast).

``kick`` PUBLISHes on the channel ``queue_name``. Only workers subscribed at that
moment receive it; nothing is stored, so a message sent while no worker listens,
or while a worker is reconnecting, is lost. Useful for "every worker, do this"
(reload config, clear a cache), not for work that must be done once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import Any

from taskiq.acks import AckableMessage
from taskiq.exceptions import SendTaskError
from taskiq.message import BrokerMessage

from taskiq_redis.base_broker import BaseRedisBroker
from taskiq_redis.errors import TRANSIENT_ERRORS, translated

logger = logging.getLogger("taskiq_redis.pubsub_broker")


class PubSubBroker(BaseRedisBroker):
    """Broadcasts each task to every worker subscribed to ``queue_name``; at-most-once."""

    def describe(self) -> dict[str, str]:
        """The server (password masked) and the channel, for the worker's banner."""
        described = super().describe()
        described["channel"] = described.pop("queue")
        return described

    async def kick(self, message: BrokerMessage) -> None:
        """PUBLISH the message on its channel (the ``queue_name`` label may pick another)."""
        channel = message.labels.get("queue_name") or self.queue_name
        with translated(SendTaskError, self.connector.address):
            await self.redis.publish(str(channel), message.message)

    async def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        """Yield every message published on the channel, resubscribing after a drop."""
        outage = self.reconnect_backoff()
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            failure: BaseException | None = None
            try:
                await pubsub.subscribe(self.queue_name)
                outage.succeeded()
                while True:
                    message: Any = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        yield message["data"]
            except TRANSIENT_ERRORS as exc:
                failure = exc
            finally:
                with contextlib.suppress(*TRANSIENT_ERRORS):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            if failure is not None:
                await outage.wait(failure)
