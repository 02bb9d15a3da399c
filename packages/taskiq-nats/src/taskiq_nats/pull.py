"""Pull-based JetStream brokers: workers fetch tasks when they are ready for them.

Pulling means a worker never holds messages it cannot start: a fetch asks for
as many as the receiver has room for (no message times out in a client buffer),
yet a busy worker still takes a batch per round trip. A fetch that fails while
the server restarts is simply retried: the durable consumer survives on the
server and the worker carries on where it was.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, StreamConfig
from nats.js.errors import BadRequestError
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.exceptions import ListenError
from taskiq.receiver.loop_watchdog import LoopHeartbeat
from taskiq.reconnect import ReconnectBackoff

from taskiq_nats import connection
from taskiq_nats._errors import NATS_FAILURES, nats_errors
from taskiq_nats.jetstream import BaseJetStreamBroker

logger = logging.getLogger("taskiq_nats")

#: Most messages one fetch asks for; the receiver's free room bounds it further.
DEFAULT_PULL_BATCH = 100
#: Seconds one fetch waits for messages before asking again.
DEFAULT_FETCH_TIMEOUT = 2.0
#: A fetch that spanned a loop stall this share of ``ack_wait`` long returns stale messages.
STALE_STALL_SHARE = 0.5


class PullBasedJetStreamBroker(BaseJetStreamBroker):
    """At-least-once delivery through a durable pull consumer (``durable``).

    Every worker of the same ``durable`` shares the tasks. Messages are acked
    after processing (per the receiver's ack type), kept alive with
    ``in_progress()`` while they run, NAKed with backoff on failure, and
    dead-lettered after ``max_deliver`` deliveries or when rejected.
    """

    def __init__(
        self,
        servers: connection.Servers,
        subject: str | None = None,
        stream_name: str | None = None,
        queue: str | None = None,
        durable: str | None = None,
        stream_config: StreamConfig | None = None,
        consumer_config: ConsumerConfig | None = None,
        pull_consume_batch: int = DEFAULT_PULL_BATCH,
        pull_consume_timeout: float | None = None,
        result_backend: AsyncResultBackend[Any] | None = None,
        task_id_generator: Callable[[], str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            servers,
            subject=subject,
            stream_name=stream_name,
            queue=queue,
            durable=durable,
            stream_config=stream_config,
            consumer_config=consumer_config,
            result_backend=result_backend,
            task_id_generator=task_id_generator,
            **kwargs,
        )
        self.pull_consume_batch = pull_consume_batch
        self.pull_consume_timeout = pull_consume_timeout or DEFAULT_FETCH_TIMEOUT
        self._request_expires = 0.0
        self._outage = ReconnectBackoff(*self.reconnect_target, log=logger)

    async def _messages(self) -> AsyncGenerator[Msg, None]:
        with nats_errors(ListenError):
            subscription = await self._subscribe()
        while not self.is_closing():
            batch = await self._fetch(subscription)
            arrived = time.monotonic()
            for index, msg in enumerate(batch):
                # The rest of a batch waits unheartbeated while earlier ones run: if a
                # task blocked the loop meanwhile, it may have been redelivered elsewhere.
                if index and not self._fresh(batch[index:], arrived):
                    break
                yield msg

    async def _fetch(self, subscription: JetStreamContext.PullSubscription) -> list[Msg]:
        """One pull request: its messages, or none after a timeout or a (repaired) failure."""
        if self.topology_stale:
            await self._restore_topology()
        LoopHeartbeat.here()  # started before the wait, so that it sees a stall during it
        asked = time.monotonic()
        self._request_expires = asked + self.pull_consume_timeout
        try:
            batch = await subscription.fetch(
                self._batch_size(),
                timeout=self.pull_consume_timeout,
            )
        except (nats.errors.TimeoutError, asyncio.TimeoutError) as exc:
            # An empty fetch: nats-py raises its own TimeoutError, or asyncio's
            # when the wait for the pull request's reply runs out. Both are normal
            # while connected.
            if self.client is not None and self.client.is_connected:
                return []  # nothing to fetch: an idle queue, not a failure
            if not self.is_closing():
                await self._recover(exc)
            return []
        except NATS_FAILURES as exc:
            if not self.is_closing():
                await self._recover(exc)
            return []
        self._outage.succeeded()
        return self._fresh(list(batch), asked)

    def _fresh(self, batch: list[Msg], asked: float) -> list[Msg]:
        """The batch, unless the event loop was stuck while it sat unread in the socket.

        A task that blocks the loop (``time.sleep`` in an ``async def``) leaves the
        messages the server delivered meanwhile unread and unheartbeated; past
        ``ack_wait`` JetStream gives them to another worker, and running them here
        too would run them twice. They are left unsettled instead: the server
        delivers each again (to whichever worker), so none is lost.
        """
        stalled = LoopHeartbeat.here().longest_stall_since(asked)
        if not batch or stalled < STALE_STALL_SHARE * self.policy.ack_wait:
            return batch
        logger.warning(
            "%d fetched messages waited unread for up to %.1f s while the event loop was "
            "blocked (ack_wait is %.1f s); left for JetStream to deliver again, so that none "
            "runs twice. Keep blocking calls out of async tasks.",
            len(batch),
            stalled,
            self.policy.ack_wait,
        )
        return []

    def _batch_size(self) -> int:
        """As many messages as the receiver's budget allows, at most ``pull_consume_batch``.

        A fetched message's ``ack_wait`` runs from its delivery, so asking for
        more than the worker can start would only let them wait here.
        """
        return self._budget.capped(self.pull_consume_batch)

    def _release_delay(self) -> float:
        """Until our last pull request expires: the server would hand it released messages."""
        return max(self._request_expires - time.monotonic(), 0.0) + 0.1

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        """Create (or reuse) the durable consumer and bind a pull subscription to it."""
        js = self._jetstream()
        await self._ensure_consumer(js)
        subscription: JetStreamContext.PullSubscription = await js.pull_subscribe_bind(
            durable=self.durable,
            stream=self.stream_name,
        )
        self._subscription = subscription
        return subscription

    async def _ensure_consumer(self, js: JetStreamContext) -> None:
        config = self._consumer_config()
        self.durable = config.durable_name or self.durable
        try:
            info = await js.add_consumer(self.stream_name, config)
        except BadRequestError as exc:
            logger.warning("Using existing consumer %r as it is (%s).", self.durable, exc)
            info = await js.consumer_info(self.stream_name, self.durable)
        self._adopt_consumer(info)

    async def _recover(self, exc: BaseException) -> None:
        """Wait (the shared backoff), then recreate streams and consumer if they are gone."""
        await self._outage.wait(exc)
        await self._restore_topology()

    async def _restore_topology(self) -> None:
        """Create streams and consumer if missing; on failure, try again next time."""
        self.topology_stale = False
        try:
            await self._ensure_streams()
            await self._ensure_consumer(self._jetstream())
        except NATS_FAILURES as exc:
            self.topology_stale = True
            logger.debug("NATS not ready yet: %r", exc)
            await asyncio.sleep(0.5)


class JetStreamBroker(PullBasedJetStreamBroker):
    """The recommended NATS broker: a durable pull consumer per ``queue``, at-least-once.

    Workers started with the same ``queue`` share its tasks. Each queue has its
    own subject ``taskiq_tasks.<queue>``, stream ``taskiq_jetstream_<queue>``
    and consumer ``<queue>`` (``subject``, ``stream_name`` and ``durable``
    override them; see `taskiq_nats.topology`), so apps never take each
    other's tasks. See `PullBasedJetStreamBroker` for acks, heartbeats,
    retries and dead letters.
    """

    def __init__(
        self,
        servers: connection.Servers,
        queue: str | None = None,
        subject: str | None = None,
        stream_name: str | None = None,
        durable: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            servers,
            subject=subject,
            stream_name=stream_name,
            queue=queue,
            durable=durable,
            **kwargs,
        )
