"""JetStream brokers: at-least-once delivery with explicit acks.

`BaseJetStreamBroker` holds what push and pull consumers share: the task
stream, publishing, the dead-letter stream, and turning each delivery into a
heartbeating `Delivery` (or deferring it while it is delayed, or dead-lettering
it once it was delivered ``max_deliver`` times). Subclasses only decide how
messages are fetched.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    ConsumerInfo,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NoStreamResponseError, NotFoundError
from taskiq.abc.broker import AsyncBroker
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.acks import AckableMessage
from taskiq.exceptions import BrokerError, SendTaskError
from taskiq.message import BrokerMessage

from taskiq_nats import connection, headers
from taskiq_nats._errors import NATS_FAILURES, NOT_STARTED, nats_errors, streams_errors
from taskiq_nats.dead_letters import DEFAULT_DEAD_LETTER_MAX_AGE, DeadLetter, DeadLetterStream
from taskiq_nats.delivery import Delivery, RedeliveryPolicy, send_quietly

logger = logging.getLogger("taskiq_nats")

#: Seconds JetStream waits for an ack (or heartbeat) before redelivering.
DEFAULT_ACK_WAIT = 30.0
#: Deliveries of one message before it is dead-lettered.
DEFAULT_MAX_DELIVER = 5
#: Unacknowledged messages (running, prefetched or delayed) one consumer may have.
DEFAULT_MAX_ACK_PENDING = 10_000


class BaseJetStreamBroker(AsyncBroker):
    """Shared machinery of the JetStream brokers; use `JetStreamBroker`."""

    supports_delayed_delivery = True

    def __init__(
        self,
        servers: connection.Servers,
        subject: str = "taskiq_tasks",
        stream_name: str = "taskiq_jetstream",
        queue: str | None = None,
        durable: str = "taskiq_durable",
        stream_config: StreamConfig | None = None,
        consumer_config: ConsumerConfig | None = None,
        result_backend: AsyncResultBackend[Any] | None = None,
        task_id_generator: Callable[[], str] | None = None,
        ack_wait: float = DEFAULT_ACK_WAIT,
        max_deliver: int = DEFAULT_MAX_DELIVER,
        nak_backoff: float = 1.0,
        max_nak_backoff: float = 60.0,
        dead_letter_stream: str | None = None,
        dead_letter_max_age: float = DEFAULT_DEAD_LETTER_MAX_AGE,
        connect_attempts: int = connection.DEFAULT_CONNECT_ATTEMPTS,
        **connection_kwargs: Any,
    ) -> None:
        super().__init__(result_backend, task_id_generator)
        self.servers = servers
        self.subject = subject
        self.queue = queue
        self.durable = durable
        self.stream_config = _stream_config(stream_config, stream_name, subject)
        self.stream_name: str = self.stream_config.name or stream_name
        self.consumer_config = consumer_config
        self.policy = RedeliveryPolicy(ack_wait, max_deliver, nak_backoff, max_nak_backoff)
        dlq_name = dead_letter_stream or f"{self.stream_name}_dead_letters"
        self.dead_letters = DeadLetterStream(
            dlq_name,
            f"taskiq_dead_letters.{dlq_name}",
            dead_letter_max_age,
        )
        self.connect_attempts = connect_attempts
        self.connection_kwargs = connection_kwargs
        self.client: Client | None = None
        self.js: JetStreamContext | None = None
        self._in_flight: set[Delivery] = set()
        #: Set on reconnect: the server may have lost our streams and consumer.
        self.topology_stale = False
        #: The live subscription, so that shutdown can stop deliveries first.
        self._subscription: Any = None
        self._closing = False

    # -- lifecycle -------------------------------------------------------

    @property
    def reconnect_target(self) -> tuple[str, str]:
        """What the worker's reconnect log lines name: the service and its servers."""
        return "NATS", connection.mask_servers(self.servers)

    async def startup(self) -> None:
        """Connect, create the task and dead-letter streams if missing, then start events.

        A failure leaves nothing open, so the worker can simply call it again:
        `BrokerUnreachableError` while the server is away, `BrokerConfigError`
        when it refuses the login or the streams as configured.
        """
        self._closing = False
        self.client = await connection.connect(
            self.servers,
            self.connect_attempts,
            on_reconnect=self._mark_topology_stale,
            **self.connection_kwargs,
        )
        self.js = self.client.jetstream()
        try:
            with streams_errors(self.stream_name, self.dead_letters.stream_name):
                await self._ensure_streams()
        except BaseException:
            await connection.close(self.client)
            self.client = self.js = None
            raise
        await super().startup()

    async def shutdown(self) -> None:
        """Stop fetching, hand unfinished deliveries back for redelivery now, disconnect.

        The subscription goes first: otherwise JetStream could hand a released
        message straight back to this worker's pending fetch.
        """
        self._closing = True
        await self._unsubscribe()
        delay = self._release_delay()
        for delivery in list(self._in_flight):
            await delivery.release(delay)
        await connection.close(self.client)
        await super().shutdown()

    def _release_delay(self) -> float:
        """Seconds to hold released messages back, so that no dead request gets them."""
        return 0.0

    async def _unsubscribe(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is None or self.client is None or self.client.is_closed:
            return
        try:
            await subscription.unsubscribe()
            await self.client.flush()
        except NATS_FAILURES as exc:
            logger.debug("Unsubscribing on shutdown failed: %r", exc)

    def _mark_topology_stale(self) -> None:
        self.topology_stale = True

    def is_closing(self) -> bool:
        """True once `shutdown` has begun: fetch loops end instead of retrying."""
        return self._closing

    async def _ensure_streams(self) -> None:
        js = self._jetstream()
        try:
            await js.stream_info(self.stream_name)
        except NotFoundError:
            await js.add_stream(self.stream_config)
        await self.dead_letters.ensure(js)

    def _jetstream(self) -> JetStreamContext:
        if self.js is None:
            raise BrokerError(NOT_STARTED)
        return self.js

    # -- sending ---------------------------------------------------------

    async def kick(self, message: BrokerMessage) -> None:
        """Publish and wait for JetStream to persist the message (honours ``delay``).

        If no stream answers (a server that lost its storage, or a stream someone
        deleted), the streams are created again and the publish retried once.
        """
        payload, task_headers = message.message, headers.task_headers(message)
        with nats_errors(SendTaskError):
            try:
                await self._publish(payload, task_headers)
            except NoStreamResponseError:
                logger.warning("No stream %r answered; creating it again.", self.stream_name)
                await self._ensure_streams()
                await self._publish(payload, task_headers)

    async def _publish(self, payload: bytes, task_headers: dict[str, str]) -> None:
        await self._jetstream().publish(
            self.subject,
            payload,
            stream=self.stream_name,
            headers=task_headers,
        )

    # -- receiving -------------------------------------------------------

    def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        """Yield due deliveries as `NatsAckableMessage` (ack, reject and nack)."""
        return self._listen()

    async def _listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        async for msg in self._messages():
            if self.is_closing():
                await send_quietly(msg.nak(delay=self._release_delay() or None), "nak")
                continue
            ackable = await self._admit(msg)
            if ackable is not None:
                yield ackable
                # Hold no reference while waiting for the next message: a delivery
                # the receiver drops unsettled must be collectable (see delivery.py).
                del ackable

    def _messages(self) -> AsyncGenerator[Msg, None]:  # pragma: no cover - abstract
        raise NotImplementedError

    async def _admit(self, msg: Msg) -> AckableMessage | None:
        """Defer a delayed message, dead-letter an exhausted one, else start a delivery."""
        delivery = Delivery(msg, self.policy, self._store_dead_letter, self._in_flight.discard)
        wait = headers.seconds_until_due(msg.headers)
        if wait > 0:
            await send_quietly(msg.nak(delay=wait), "nak")
            return None
        allowed = self.policy.max_deliver + (1 if headers.NOT_BEFORE in (msg.headers or {}) else 0)
        if msg.metadata.num_delivered > allowed:
            logger.error(
                "Task message %s was delivered %d times without success; dead-lettering it.",
                (msg.headers or {}).get(headers.TASK_ID, "?"),
                msg.metadata.num_delivered - 1,
            )
            await delivery.dead_letter(f"max_deliver ({self.policy.max_deliver}) exceeded")
            return None
        self._in_flight.add(delivery)
        return delivery.start()

    async def _store_dead_letter(self, msg: Msg, reason: str) -> None:
        await self.dead_letters.put(self._jetstream(), msg, reason)

    def _adopt_consumer(self, info: ConsumerInfo) -> None:
        """Heartbeat at the pace of the consumer as it exists on the server."""
        ack_wait = info.config.ack_wait or self.policy.ack_wait
        self.policy = dataclasses.replace(self.policy, ack_wait=ack_wait)

    def _consumer_config(self, **push_options: Any) -> ConsumerConfig:
        """The durable consumer: explicit acks; our own max_deliver and dead letters."""
        config = self.consumer_config or ConsumerConfig()
        return dataclasses.replace(
            config,
            durable_name=config.durable_name or self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=config.ack_wait or self.policy.ack_wait,
            max_deliver=-1,
            filter_subject=config.filter_subject or self.subject,
            max_ack_pending=config.max_ack_pending or DEFAULT_MAX_ACK_PENDING,
            **push_options,
        )

    # -- dead letters ----------------------------------------------------

    async def get_dead_letters(self, limit: int | None = 100) -> list[DeadLetter]:
        """Dead-lettered task messages, oldest first (at most ``limit``; None for all)."""
        with nats_errors(BrokerError, "Cannot read the dead-letter stream"):
            return await self.dead_letters.list(self._jetstream(), limit)

    async def replay_dead_letters(self, sequences: list[int] | None = None) -> int:
        """Send dead letters (all, or those ``sequences``) back to their queue; return how many.

        Each is republished on its original subject and then removed from the
        dead-letter stream, so a replayed message gets a fresh ``max_deliver`` budget.
        """
        letters = await self.get_dead_letters(limit=None)
        chosen = [ltr for ltr in letters if sequences is None or ltr.sequence in sequences]
        with nats_errors(BrokerError, "Replaying dead letters failed part-way; list them again"):
            for letter in chosen:
                await self.dead_letters.replay(self._jetstream(), letter)
        return len(chosen)

    async def delete_dead_letter(self, sequence: int) -> None:
        """Discard one dead letter for good."""
        with nats_errors(BrokerError, f"Cannot delete dead letter {sequence}"):
            await self.dead_letters.delete(self._jetstream(), sequence)


def _stream_config(given: StreamConfig | None, stream_name: str, subject: str) -> StreamConfig:
    """The user's stream config (name and subject filled in if missing), or our default.

    The default is a work-queue stream on disk: a message is removed once a
    worker acks it (or it is dead-lettered), so the stream does not grow.
    """
    if given is not None:
        return dataclasses.replace(
            given,
            name=given.name or stream_name,
            subjects=given.subjects or [subject],
        )
    return StreamConfig(
        name=stream_name,
        subjects=[subject],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
    )
