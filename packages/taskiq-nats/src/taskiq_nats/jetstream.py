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
    StreamInfo,
)
from nats.js.errors import NoStreamResponseError
from taskiq.abc.broker import AsyncBroker
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.acks import AckableMessage
from taskiq.control import failed_times
from taskiq.exceptions import BrokerError, SendTaskError
from taskiq.fetch_budget import UNBOUNDED, FetchBudget
from taskiq.message import BrokerMessage

from taskiq_nats import connection, headers
from taskiq_nats._errors import NATS_FAILURES, NOT_STARTED, nats_errors, streams_errors
from taskiq_nats.blocked_loop import heartbeat_while_blocked
from taskiq_nats.dead_letters import (
    DEFAULT_DEAD_LETTER_MAX_AGE,
    DEFAULT_DEAD_LETTER_MAX_BYTES,
    DEFAULT_DEAD_LETTER_MAX_MESSAGES,
    DeadLetter,
    DeadLetterLimits,
    DeadLetterStream,
    NatsDeadLetterStore,
)
from taskiq_nats.delivery import Delivery, RedeliveryPolicy, send_quietly
from taskiq_nats.payload_limit import check_payload_size
from taskiq_nats.queues import NatsQueueInspector
from taskiq_nats.topology import Topology, check_consumer, covers, ensure_stream

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
        subject: str | None = None,
        stream_name: str | None = None,
        queue: str | None = None,
        durable: str | None = None,
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
        dead_letter_max_messages: int = DEFAULT_DEAD_LETTER_MAX_MESSAGES,
        dead_letter_max_bytes: int = DEFAULT_DEAD_LETTER_MAX_BYTES,
        connect_attempts: int = connection.DEFAULT_CONNECT_ATTEMPTS,
        **connection_kwargs: Any,
    ) -> None:
        super().__init__(result_backend, task_id_generator)
        self.servers = servers
        self.topology = Topology.build(
            queue,
            subject,
            (stream_config.name if stream_config else None) or stream_name,
            durable or (consumer_config.durable_name if consumer_config else None),
        )
        self.subject = self.topology.subject
        self.queue = queue
        self.durable = self.topology.durable
        self.stream_config = _stream_config(stream_config, self.topology)
        self.stream_name: str = self.topology.stream_name
        self.consumer_config = consumer_config
        self.policy = RedeliveryPolicy(ack_wait, max_deliver, nak_backoff, max_nak_backoff)
        dlq_name = dead_letter_stream or f"{self.stream_name}_dead_letters"
        self.dead_letters = DeadLetterStream(
            dlq_name,
            f"taskiq_dead_letters.{dlq_name}",
            DeadLetterLimits(dead_letter_max_age, dead_letter_max_messages, dead_letter_max_bytes),
        )
        self.connect_attempts = connect_attempts
        self.connection_kwargs = connection_kwargs
        self.client: Client | None = None
        self.js: JetStreamContext | None = None
        self._in_flight: set[Delivery] = set()
        #: The budget of the stream `listen_with_budget` serves now (`taskiq.fetch_budget`).
        self._budget = UNBOUNDED
        #: Set on reconnect: the server may have lost our streams and consumer.
        self.topology_stale = False
        #: The live subscription, so that shutdown can stop deliveries first.
        self._subscription: Any = None
        self._closing = False

    # -- lifecycle -------------------------------------------------------

    def describe(self) -> dict[str, str]:
        """The servers (passwords masked), stream, subject and consumer, for the banner."""
        return {
            "url": connection.mask_servers(self.servers),
            "stream": self.stream_name,
            "subject": self.subject,
            "consumer": self.durable,
        }

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
                stream = await self._ensure_streams()
            if self.is_worker_process:
                await check_consumer(self._jetstream(), stream, self.durable, self.subject)
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

    async def _ensure_streams(self) -> StreamInfo:
        js = self._jetstream()
        stream = await ensure_stream(js, self.stream_config, self.subject)
        await self.dead_letters.ensure(js)
        return stream

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
        check_payload_size(self.client, message)
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
        return self.listen_with_budget(UNBOUNDED)

    def listen_with_budget(
        self,
        budget: FetchBudget,
    ) -> AsyncGenerator[bytes | AckableMessage, None]:
        """As `listen`; a pull broker asks for at most ``budget.room()`` messages per fetch."""
        self._budget = budget
        return heartbeat_while_blocked(self, self._listen())

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

    def in_flight_snapshot(self) -> list[Delivery]:
        """The unsettled deliveries now (a copy: safe to take from another thread)."""
        return list(self._in_flight.copy())

    def _messages(self) -> AsyncGenerator[Msg, None]:  # pragma: no cover - abstract
        raise NotImplementedError

    async def _admit(self, msg: Msg) -> AckableMessage | None:
        """Defer a delayed message, dead-letter an exhausted one, else start a delivery."""
        delivery = Delivery(msg, self.policy, self._store_dead_letter, self._in_flight.discard)
        problem = headers.not_before_problem(msg.headers)
        if problem is not None:
            await delivery.dead_letter(problem)
            return None
        wait = headers.seconds_until_due(msg.headers)
        if wait > 0:
            await send_quietly(msg.nak(delay=wait), "nak")
            return None
        allowed = self.policy.max_deliver + (1 if headers.NOT_BEFORE in (msg.headers or {}) else 0)
        if msg.metadata.num_delivered > allowed:
            await delivery.dead_letter(failed_times(msg.metadata.num_delivered - 1))
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

    def dead_letter_store(self, queue: str | None = None) -> NatsDeadLetterStore:
        """This broker's dead-letter stream as the core `DeadLetterStore` contract.

        One stream holds the dead letters of this broker, so ``queue`` may be
        None, its ``queue`` or its subject. The methods below are the names this
        broker had before; they delegate.
        """
        if queue not in (None, self.queue, self.subject):
            raise ValueError(
                f"No dead letters of {queue!r} here: this broker consumes subject "
                f"{self.subject!r} (queue {self.queue!r}); use a broker for that queue.",
            )
        return NatsDeadLetterStore(self.dead_letters.stream_name, self._jetstream)

    def queue_inspector(self) -> NatsQueueInspector:
        """The depth of this broker's queue (see taskiq_nats.queues), and purge."""
        aliases = [self.queue, self.subject] if self.queue else [self.subject]
        return NatsQueueInspector(
            self._jetstream,
            self.queue or self.subject,
            aliases,
            self.stream_name,
            self.durable,
            self.dead_letter_store(),
        )

    async def get_dead_letters(self, limit: int | None = 100) -> list[DeadLetter]:
        """Dead-lettered task messages, oldest first (at most ``limit``; None for all)."""
        store = self.dead_letter_store()
        if limit is not None:
            return list((await store.list(limit)).letters)
        letters: list[DeadLetter] = []
        cursor: str | None = None
        while True:
            page = await store.list(cursor=cursor)
            letters.extend(page.letters)
            if page.next_cursor is None:
                return letters
            cursor = page.next_cursor

    async def replay_dead_letters(self, sequences: list[int] | None = None) -> int:
        """Send dead letters (all, or those ``sequences``) back to their queue; return how many.

        Each is republished on its original subject and then removed from the
        dead-letter stream, so a replayed message gets a fresh ``max_deliver`` budget.
        """
        store = self.dead_letter_store()
        if sequences is None:
            return await store.replay_all()
        return await store.replay([str(sequence) for sequence in sequences])

    async def delete_dead_letter(self, sequence: int | str) -> bool:
        """Discard one dead letter for good; False if there was none with that id."""
        return await self.dead_letter_store().delete([str(sequence)]) == 1


def _stream_config(given: StreamConfig | None, topology: Topology) -> StreamConfig:
    """The user's stream config (name and our subject filled in if missing), or our default.

    The default is a work-queue stream on disk: a message is removed once a
    worker acks it (or it is dead-lettered), so the stream does not grow.
    """
    stream_name, subject = topology.stream_name, topology.subject
    if given is not None:
        subjects = list(given.subjects or [])
        if not any(covers(pattern, subject) for pattern in subjects):
            subjects.append(subject)
        return dataclasses.replace(given, name=given.name or stream_name, subjects=subjects)
    return StreamConfig(
        name=stream_name,
        subjects=[subject],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
    )
