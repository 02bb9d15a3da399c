"""`AioPikaBroker`: taskiq over RabbitMQ, at-least-once by default.

Every kick is a persistent message published with ``mandatory=True`` on a
channel with publisher confirms, so `kiq()` returns only once RabbitMQ has the
task (or raises `SendTaskError`). Workers consume with a prefetch of ``qos``
and settle each delivery as the receiver's ack type says; a rejected delivery
goes to the queue's dead-letter queue. Connections are robust: after a dropped
connection the client and the worker reconnect and resume by themselves, and
deliveries that were not acknowledged come back from RabbitMQ.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar

import aio_pika
from aio_pika import DeliveryMode, ExchangeType, Message
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from taskiq import AckableMessage, AsyncBroker, AsyncResultBackend, BrokerMessage
from taskiq.control import log_dead_lettered
from taskiq.exceptions import SendTaskError
from typing_extensions import Self

from taskiq_aio_pika import labels
from taskiq_aio_pika.dead_letter_methods import DeadLetterMethods
from taskiq_aio_pika.dead_letters import (
    DEFAULT_DEAD_LETTER_MAX_LENGTH,
    DEFAULT_DEAD_LETTER_TTL,
    dead_copy,
    limit_arguments,
)
from taskiq_aio_pika.delays import DelayQueues
from taskiq_aio_pika.driver_logs import quiet_driver_tracebacks
from taskiq_aio_pika.errors import CONNECTION_ERRORS, DRIVER_ERRORS, amqp_errors, check_scheme
from taskiq_aio_pika.exceptions import TopologyError
from taskiq_aio_pika.queues import RabbitQueueInspector
from taskiq_aio_pika.topology import (
    DEFAULT_ROUTING_KEY,
    PLUGIN_DELAY_HEADER,
    Exchange,
    Queue,
    QueueType,
    dead_letter_arguments,
    is_default_routing_key,
    main_binding,
    queue_arguments,
)
from taskiq_aio_pika.urls import DEFAULT_URL, mask_url

logger = logging.getLogger("taskiq.aio_pika")

_T = TypeVar("_T")

#: Why a dead-letter copy may not get published (the delivery is rejected instead).
_DEAD_LETTER_FAILURES: tuple[type[BaseException], ...] = (SendTaskError, *DRIVER_ERRORS)

#: How long an unused delay queue survives after its last message is due (ms).
DEFAULT_DELAY_QUEUE_EXPIRES_MS = 60_000


class AioPikaBroker(DeadLetterMethods, AsyncBroker):
    """RabbitMQ broker: durable queues, confirmed persistent publishes, dead letters.

    The positional parameters are those of Taskiq's ``taskiq-aio-pika``; the
    keyword-only ones add routing to several queues, quorum queues and tuning.
    """

    supports_delayed_delivery = True

    def __init__(
        self,
        url: str | None = None,
        result_backend: AsyncResultBackend[Any] | None = None,
        task_id_generator: Callable[[], str] | None = None,
        qos: int = 10,
        loop: asyncio.AbstractEventLoop | None = None,
        exchange_name: str = "taskiq",
        queue_name: str = "taskiq",
        dead_letter_queue_name: str | None = None,
        delay_queue_name: str | None = None,
        declare_exchange: bool = True,
        declare_queues: bool = True,
        routing_key: str = DEFAULT_ROUTING_KEY,
        exchange_type: ExchangeType = ExchangeType.TOPIC,
        max_priority: int | None = None,
        delayed_message_exchange_plugin: bool = False,
        *,
        queue_type: QueueType | str = QueueType.CLASSIC,
        queues: Sequence[Queue] = (),
        listen_queues: Sequence[str] | None = None,
        dead_letter_exchange_name: str | None = None,
        connection_name: str | None = None,
        delay_queue_expires_ms: int = DEFAULT_DELAY_QUEUE_EXPIRES_MS,
        publish_timeout: float = 30.0,
        exchange: Exchange | None = None,
        task_queues: Sequence[Queue] | None = None,
        dead_letter_queue: Queue | None = None,
        delay_queue: Queue | None = None,
        delayed_message_exchange: Exchange | None = None,
        label_for_routing: str = "queue_name",
        label_for_priority: str = "priority",
        dead_letter_max_length: int | None = DEFAULT_DEAD_LETTER_MAX_LENGTH,
        dead_letter_ttl: float | None = DEFAULT_DEAD_LETTER_TTL,
        **connection_kwargs: Any,
    ) -> None:
        super().__init__(result_backend, task_id_generator)
        if qos < 0:
            raise ValueError("qos (the prefetch count) must be 0 (unlimited) or more.")
        self.url = _url_or_default(url)
        self.qos = qos
        self.exchange = exchange or Exchange(
            exchange_name, ExchangeType(exchange_type), declare=declare_exchange
        )
        self.exchange_name = self.exchange.name
        self.exchange_type = self.exchange.type
        self.declare_exchange = self.exchange.declare
        self.declare_queues = declare_queues
        self.delayed_message_exchange_plugin = delayed_message_exchange_plugin
        #: Accepted for Taskiq compatibility; the plugin's exchange is the main one here.
        self.delayed_message_exchange = delayed_message_exchange
        self.label_for_routing = label_for_routing
        self.label_for_priority = label_for_priority
        self.dead_letter_exchange_name = (
            dead_letter_exchange_name or f"{self.exchange_name}.dead_letter"
        )
        self.connection_name = connection_name
        #: Bounds of every dead-letter queue (None: unbounded); see dead_letters.py.
        self.dead_letter_limits = limit_arguments(dead_letter_max_length, dead_letter_ttl)
        self.publish_timeout = publish_timeout
        self.connection_kwargs = connection_kwargs
        self._main_dead_letter = dead_letter_queue_name or (
            dead_letter_queue.name if dead_letter_queue else None
        )
        given = list(task_queues or ())
        main = (
            given[0]
            if given
            else Queue(queue_name, main_binding(routing_key), max_priority, QueueType(queue_type))
        )
        #: Queues once bound with the catch-all "#" by default; startup removes that binding.
        self._drop_catch_all = {main.name} if is_default_routing_key(routing_key) else set()
        # Taskiq's with_queue() replaces the default queue the broker made up itself.
        default_queue = queue_name == "taskiq" and routing_key == "#"
        self._implicit_main = default_queue and not given and not queues
        self._set_queues(main, *given[1:], *queues)
        if listen_queues:
            self.with_listen_queues(*listen_queues)
        self.delays = DelayQueues(
            f"{self.exchange_name}.delay",
            delay_queue_name or (delay_queue.name if delay_queue else f"{main.name}.delay"),
            self.exchange_name,
            delay_queue_expires_ms,
        )
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._exchange: AbstractExchange | None = None

    # -- configuration -----------------------------------------------------

    def _set_queues(self, main: Queue, *others: Queue) -> None:
        self.main_queue = main
        self.queues: dict[str, Queue] = {main.name: main}
        self.queues.update((queue.name, queue) for queue in others)
        self.dead_letter_queues = {name: q.dead_letter_queue for name, q in self.queues.items()}
        self.dead_letter_queues[main.name] = self._main_dead_letter or main.dead_letter_queue
        self.listen_queues: list[str] = list(self.queues)

    def with_queue(self, queue: Queue) -> Self:
        """Declare and consume ``queue`` too (Taskiq's builder; call before startup).

        On a broker built without any queue, the first call replaces the
        default ``taskiq`` queue, so a worker made with it consumes ``queue`` only.
        """
        if self._implicit_main:
            return self.with_queues(queue)
        self.queues[queue.name] = queue
        self.dead_letter_queues[queue.name] = queue.dead_letter_queue
        if queue.name not in self.listen_queues:
            self.listen_queues.append(queue.name)
        return self

    def with_queues(self, *queues: Queue) -> Self:
        """Use exactly ``queues`` (the first is the default destination); consume all."""
        if not queues:
            raise ValueError("with_queues() needs at least one Queue.")
        self._implicit_main = False
        self._set_queues(*queues)
        return self

    def with_listen_queues(self, *names: str) -> Self:
        """Make this process's worker consume only ``names`` (declared queues)."""
        unknown = [name for name in names if name not in self.queues]
        if unknown or not names:
            raise ValueError(
                f"Cannot listen to {unknown or 'no queue'}: declare every queue with "
                f"queue_name= or queues=[Queue(...)]; known queues: {sorted(self.queues)}.",
            )
        self.listen_queues = list(names)
        return self

    @property
    def is_connected(self) -> bool:
        """True between `startup` and `shutdown` (even while a reconnect is under way)."""
        return self._connection is not None

    @property
    def reconnect_target(self) -> tuple[str, str]:
        """What the worker's reconnect log lines name: the service and its URL, masked."""
        return "RabbitMQ", mask_url(self.url)

    @property
    def default_routing_key(self) -> str:
        """Routing key of a task without ``queue_name``/``routing_key`` labels."""
        key = self.main_queue.binding_key
        if self.exchange_type is ExchangeType.TOPIC and ("#" in key or "*" in key):
            return self.main_queue.name
        return key

    # -- lifecycle ---------------------------------------------------------

    async def startup(self) -> None:
        """Connect (robustly), declare the topology, then run the startup events."""
        if self._connection is not None:
            raise RuntimeError("AioPikaBroker.startup() was called twice without shutdown().")
        connection = await self._connect()
        try:
            with amqp_errors("declare", self.url):
                self._channel = await connection.channel(
                    publisher_confirms=True,
                    on_return_raises=True,
                )
                await self._declare_topology(self._channel)
        except BaseException:
            await connection.close()  # a failed startup leaves nothing open
            self._channel = self._exchange = None
            raise
        self._connection = connection
        await super().startup()

    async def shutdown(self) -> None:
        """Run the shutdown events, then close the connection.

        Deliveries this worker received but did not acknowledge go back to
        their queue when the connection closes.
        """
        await super().shutdown()
        if self._connection is not None:
            await self._connection.close()
        self._connection = self._channel = self._exchange = None

    async def _connect(self) -> AbstractRobustConnection:
        side = "worker" if self.is_worker_process else "client"
        name = self.connection_name or f"taskiq-{side}-{os.getpid()}"
        options = dict(self.connection_kwargs)
        properties = dict(options.pop("client_properties", None) or {})
        properties.setdefault("connection_name", name)
        check_scheme(self.url)
        quiet_driver_tracebacks()
        with amqp_errors("connect", self.url):
            connection: AbstractRobustConnection = await aio_pika.connect_robust(
                self.url,
                client_properties=properties,
                **options,
            )
        return connection

    async def _declare_topology(self, channel: AbstractRobustChannel) -> None:
        self._exchange = await self._main_exchange(channel)
        await self.delays.setup(channel, declare=self.declare_exchange)
        if self.declare_exchange:
            await channel.declare_exchange(
                self.dead_letter_exchange_name,
                ExchangeType.DIRECT,
                durable=True,
            )
        if self.declare_queues:
            for queue in self.queues.values():
                await self._declare_queue(channel, queue)

    async def _main_exchange(self, channel: AbstractChannel) -> AbstractExchange:
        if not self.declare_exchange:
            return await channel.get_exchange(self.exchange_name, ensure=True)
        if self.delayed_message_exchange_plugin:
            return await self._delayed_exchange(channel)
        spec = self.exchange
        return await channel.declare_exchange(
            spec.name,
            spec.type,
            durable=spec.durable,
            auto_delete=spec.auto_delete,
            internal=spec.internal,
            passive=spec.passive,
            arguments=dict(spec.arguments) or None,
            timeout=spec.timeout,
        )

    async def _delayed_exchange(self, channel: AbstractChannel) -> AbstractExchange:
        try:
            return await channel.declare_exchange(
                self.exchange_name,
                type="x-delayed-message",
                durable=True,
                arguments={"x-delayed-type": self.exchange_type.value},
            )
        except DRIVER_ERRORS as exc:
            if "x-delayed-message" not in str(exc):
                raise
            raise TopologyError(
                f"Cannot declare exchange {self.exchange_name!r} of type x-delayed-message: "
                "the rabbitmq_delayed_message_exchange plugin is not enabled on the server. "
                "Enable it (rabbitmq-plugins enable rabbitmq_delayed_message_exchange) or "
                "drop delayed_message_exchange_plugin=True to use plugin-free delay queues.",
                entity=f"exchange {self.exchange_name!r}",
                reason="plugin not enabled",
            ) from exc

    async def _declare_queue(self, channel: AbstractChannel, queue: Queue) -> None:
        if not queue.declare:  # Taskiq's Queue(declare=False): it must exist already
            await channel.get_queue(queue.name, ensure=True)
            return
        dead_letter_name = self.dead_letter_queues[queue.name]
        dead = await channel.declare_queue(
            dead_letter_name,
            durable=True,
            arguments={**dead_letter_arguments(queue), **self.dead_letter_limits},
        )
        await dead.bind(self.dead_letter_exchange_name, routing_key=queue.name)
        declared = await channel.declare_queue(
            queue.name,
            durable=queue.durable,
            exclusive=queue.exclusive,
            passive=queue.passive,
            auto_delete=queue.auto_delete,
            arguments=queue_arguments(queue, self.dead_letter_exchange_name),
            timeout=queue.timeout,
        )
        await declared.bind(
            self.exchange_name,
            routing_key=queue.binding_key,
            arguments=dict(queue.bind_arguments) or None,
            timeout=queue.bind_timeout,
        )
        if queue.name in self._drop_catch_all and self.exchange_type is ExchangeType.TOPIC:
            await declared.unbind(self.exchange_name, routing_key="#")

    # -- sending -----------------------------------------------------------

    async def kick(self, message: BrokerMessage) -> None:
        """Publish ``message`` and wait for RabbitMQ's confirm.

        Labels: ``queue_name`` (or ``label_for_routing``) sends to that queue
        directly (a known queue's routing key names that queue too),
        ``routing_key`` routes through the exchange, ``delay`` (seconds) and
        ``priority`` (or ``label_for_priority``). Raises `SendTaskError` when
        the message is nacked, unroutable, or the connection does not come
        back within ``publish_timeout`` seconds.
        """
        queue_name = self._queue_for(labels.text(message.labels, self.label_for_routing))
        routing_key = queue_name or labels.text(message.labels, "routing_key")
        delay = labels.delay_ms(message.labels)
        amqp_message = self._amqp_message(message)
        await self._retry_while_disconnected(
            lambda: self._publish(
                amqp_message,
                routing_key or self.default_routing_key,
                delay,
                to_queue=queue_name is not None,
            ),
        )

    def _queue_for(self, label: str | None) -> str | None:
        """The queue a routing label names: a queue's name, or a known queue's routing key."""
        if label is None or label in self.queues:
            return label
        by_key = [q.name for q in self.queues.values() if q.routing_key == label]
        return by_key[0] if len(by_key) == 1 else label

    def _amqp_message(self, message: BrokerMessage) -> Message:
        return Message(
            body=message.message,
            message_id=message.task_id,
            type=message.task_name,
            priority=labels.priority(message.labels, self.label_for_priority),
            delivery_mode=DeliveryMode.PERSISTENT,
            headers={},
        )

    async def _publish(
        self,
        message: Message,
        routing_key: str,
        delay_ms: int | None,
        to_queue: bool,
    ) -> None:
        channel, exchange = self._ready()
        if delay_ms is None:
            target = channel.default_exchange if to_queue else exchange
            await target.publish(message, routing_key=routing_key, mandatory=True)
        elif self.delayed_message_exchange_plugin and not to_queue:
            # The plugin routes only when the delay ends, so it cannot honour mandatory.
            message.headers[PLUGIN_DELAY_HEADER] = delay_ms
            await exchange.publish(message, routing_key=routing_key, mandatory=False)
        else:
            await self.delays.publish(channel, message, routing_key, delay_ms, to_queue)

    def _ready(self) -> tuple[AbstractRobustChannel, AbstractExchange]:
        if self._channel is None or self._exchange is None:
            raise SendTaskError(
                "AioPikaBroker is not started: await broker.startup() before sending tasks.",
                reason="not started",
            )
        return self._channel, self._exchange

    async def _retry_while_disconnected(self, operation: Callable[[], Awaitable[_T]]) -> _T:
        """Run ``operation``; while the connection is down, retry until ``publish_timeout``.

        Each attempt is also bounded by the time left, so a publish whose
        confirm never comes cannot hang ``kiq()`` forever.
        """
        deadline = time.monotonic() + self.publish_timeout
        pause = 0.05
        while True:
            try:
                with amqp_errors("send", self.url):
                    left = max(deadline - time.monotonic(), 0.001)
                    return await asyncio.wait_for(operation(), left)
            except SendTaskError as exc:
                if not isinstance(exc.__cause__, CONNECTION_ERRORS):
                    raise
                if time.monotonic() >= deadline:
                    raise self._gave_up(exc) from exc.__cause__
                if pause == 0.05:
                    logger.warning("RabbitMQ connection lost while sending; retrying: %s", exc)
            await asyncio.sleep(min(pause, max(deadline - time.monotonic(), 0)))
            pause = min(pause * 2, 1.0)

    def _gave_up(self, last: SendTaskError) -> SendTaskError:
        return SendTaskError(
            f"RabbitMQ at {mask_url(self.url)} did not take the task within "
            f"publish_timeout={self.publish_timeout} s ({last}). The task was not sent "
            "(or its confirm was lost); check the server and send it again.",
            reason="publish timeout",
        )

    # -- receiving ---------------------------------------------------------

    async def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        """Consume the ``listen_queues`` with a prefetch of ``qos`` per worker.

        Deliveries buffered when a connection dropped are skipped: RabbitMQ
        has already put them back and delivers them again on the new channel,
        which the robust connection reopens with our consumer on it (so this
        generator rides out the drop, however many deliveries ``qos`` let in).
        """
        inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        async with self._consuming(inbox.put) as queue_of:
            while True:
                delivery = await inbox.get()
                if _channel_gone(delivery):
                    continue
                queue = queue_of.get(delivery.consumer_tag or "", self.main_queue.name)
                yield AckableMessage(
                    data=delivery.body,
                    ack=_settler(delivery, "ack"),
                    reject=_settler(delivery, "reject"),
                    nack=_settler(delivery, "nack"),
                    dead_letter=partial(self._dead_letter, delivery, queue),
                )

    async def _dead_letter(
        self,
        delivery: AbstractIncomingMessage,
        queue: str,
        reason: str,
    ) -> None:
        """Copy ``delivery`` with ``reason`` into ``queue``'s dead-letter queue, then ack it.

        If the copy cannot be published (confirmed), the delivery is rejected
        instead and RabbitMQ dead-letters it itself, without our reason.
        """
        try:
            channel, _ = self._ready()
            with amqp_errors("send", self.url):
                exchange = await channel.get_exchange(self.dead_letter_exchange_name, ensure=False)
                await asyncio.wait_for(
                    exchange.publish(dead_copy(delivery, queue, reason), queue, mandatory=True),
                    self.publish_timeout,
                )
        except _DEAD_LETTER_FAILURES as exc:
            logger.warning(
                "Could not copy task %s to the dead-letter queue (%s); rejecting it instead.",
                delivery.message_id,
                exc,
            )
            await _settler(delivery, "reject")()
        else:
            await _settler(delivery, "ack")()
        log_dead_lettered(
            queue=queue,
            task_id=delivery.message_id,
            task_name=delivery.type,
            reason=reason,
        )

    @asynccontextmanager
    async def _consuming(
        self,
        callback: Callable[[AbstractIncomingMessage], Awaitable[None]],
    ) -> AsyncIterator[dict[str, str]]:
        """Consume the listen queues; yields the queue name of each consumer tag."""
        if self._connection is None:
            raise RuntimeError("AioPikaBroker.listen() needs `await broker.startup()` first.")
        queue_of: dict[str, str] = {}
        with amqp_errors("listen", self.url):
            channel = await self._connection.channel()
            await channel.set_qos(prefetch_count=self.qos)
            for name in self.listen_queues:
                spec = self.queues[name]
                queue = await channel.get_queue(name, ensure=self.declare_queues)
                tag = await queue.consume(callback, arguments=dict(spec.consumer_arguments) or None)
                queue_of[tag] = name
        try:
            yield queue_of
        finally:
            # Closed for good, or the robust connection would restore its consumer
            # (holding up to ``qos`` deliveries for an inbox nobody reads).
            try:
                await channel.close()
            except DRIVER_ERRORS as exc:
                logger.debug("Closing the consuming channel failed: %r", exc)

    def queue_inspector(self) -> RabbitQueueInspector:
        """The depth of every task queue (ready and dead; see queues.py), and purge."""
        return RabbitQueueInspector(self._started_connection, self.url, self.dead_letter_queues)

    def describe(self) -> dict[str, str]:
        """The server (password masked), exchange and queues read, for the worker's banner."""
        kind = self.exchange_type
        return {
            "url": mask_url(self.url),
            "exchange": f"{self.exchange_name} ({getattr(kind, 'value', kind)})",
            "queues": ", ".join(self.listen_queues),
        }

    def __repr__(self) -> str:
        return f"AioPikaBroker({mask_url(self.url)!r}, queues={sorted(self.queues)})"


def _url_or_default(url: object) -> str:
    """The URL to connect to; None, "" and `...` (as in Taskiq's README) mean the default."""
    if url is None or url is Ellipsis or url == "":
        return DEFAULT_URL
    return str(url)


def _channel_gone(delivery: AbstractIncomingMessage) -> bool:
    """Whether the channel a delivery came on is closed (it cannot be settled there).

    aio-pika raises `ChannelInvalidStateError` instead of answering when the
    connection under that channel dropped: that counts as closed too.
    """
    try:
        return bool(delivery.channel.is_closed)
    except CONNECTION_ERRORS:
        return True


def _settler(delivery: AbstractIncomingMessage, action: str) -> Callable[[], Awaitable[None]]:
    """Ack, reject (dead-letter) or nack (requeue now) ``delivery``.

    If its channel is gone, RabbitMQ redelivers it anyway.
    """

    async def settle() -> None:
        try:
            if action == "ack":
                await delivery.ack()
            elif action == "nack":
                await delivery.nack(requeue=True)
            else:
                await delivery.reject(requeue=False)
        except DRIVER_ERRORS as exc:
            logger.warning(
                "Could not %s task %s (%s); RabbitMQ will deliver it again.",
                action,
                delivery.message_id,
                exc,
            )

    return settle
