"""``in_progress`` heartbeats from a helper thread, for when a task blocks the event loop.

Each delivery heartbeats on the event loop (see `taskiq_nats.delivery`); a task
that blocks the loop (``time.sleep`` in an ``async def``) stops every heartbeat
of the worker, and after ``ack_wait`` JetStream redelivers the blocked task and
everything prefetched with it, to run a second time. `ThreadInProgress` sends the
same heartbeats (``+WPI`` to each message's reply subject) over a connection of
its own, driven by `taskiq.receiver.keepalive.BlockedLoopKeepAlive`: only while
the loop is blocked, and no longer than the blocking task's ``timeout`` label.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import nats
from taskiq.acks import AckableMessage
from taskiq.receiver.keepalive import BlockedLoopKeepAlive

from taskiq_nats import connection

if TYPE_CHECKING:  # pragma: no cover
    from taskiq_nats.delivery import Delivery
    from taskiq_nats.jetstream import BaseJetStreamBroker

#: The JetStream acknowledgement that resets a message's ``ack_wait``.
IN_PROGRESS = b"+WPI"
#: Seconds the thread waits for NATS when it connects and flushes.
THREAD_IO_TIMEOUT = 5


class ThreadInProgress:
    """Heartbeats the deliveries ``in_flight()`` returns, from the keep-alive thread.

    It connects once per renewal and closes right after: the thread's event loop
    only runs during a renewal, so a connection kept between them would miss the
    server's pings.
    """

    def __init__(
        self,
        servers: connection.Servers,
        connection_kwargs: dict[str, Any],
        in_flight: Callable[[], list[Delivery]],
    ) -> None:
        self.servers = connection.server_list(servers)
        # Callbacks belong to the worker's loop; the thread connects without them.
        self.options = {k: v for k, v in connection_kwargs.items() if not k.endswith("_cb")}
        self.options.update(allow_reconnect=False, connect_timeout=THREAD_IO_TIMEOUT)
        self.in_flight = in_flight
        self._loop: asyncio.AbstractEventLoop | None = None

    def renew(self) -> None:
        """Send ``in_progress`` for every unsettled delivery (runs on the helper thread)."""
        replies = [delivery.msg.reply for delivery in self.in_flight() if delivery.msg.reply]
        if not replies:
            return
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._send(replies))

    async def _send(self, replies: list[str]) -> None:
        client = await nats.connect(self.servers, **self.options)
        try:
            for reply in replies:
                await client.publish(reply, IN_PROGRESS)
            await client.flush(timeout=THREAD_IO_TIMEOUT)
        finally:
            await client.close()

    def close(self) -> None:
        """Close the thread's event loop, if a renewal ever opened one."""
        if self._loop is not None:
            self._loop.close()


async def heartbeat_while_blocked(
    broker: BaseJetStreamBroker,
    messages: AsyncIterator[bytes | AckableMessage],
) -> AsyncGenerator[bytes | AckableMessage, None]:
    """Pass ``messages`` through, heartbeating them from a thread while the loop is blocked.

    The thread starts with the first message, when the consumer's ``ack_wait``
    is known, and stops when the listen generator is closed. No reference to a
    message is held between two deliveries (see `taskiq_nats.delivery`).
    """
    keeper: BlockedLoopKeepAlive | None = None
    try:
        async for message in messages:
            if keeper is None:
                renewer = ThreadInProgress(
                    broker.servers, broker.connection_kwargs, broker.in_flight_snapshot
                )
                interval = broker.policy.heartbeat_interval
                keeper = BlockedLoopKeepAlive(renewer, interval, "taskiq-nats-in-progress")
                keeper.start()
            yield message
            del message
    finally:
        if keeper is not None:
            keeper.stop()
        aclose = getattr(messages, "aclose", None)
        if aclose is not None:
            await aclose()
