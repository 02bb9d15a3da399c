"""`AioKafkaBroker`: Taskiq's Kafka broker names, with at-least-once delivery.

The broker is a thin adapter: it builds the parts from its options and wires
them together.

- sending: every send waits for the broker's acknowledgement (``acks="all"``
  by default); a send that fails raises `SendTaskError`;
- `Consumption` (in a worker) wires the consuming parts:
- `PartitionReader`: consumer group, offset tracking, commits, rebalances;
- `Settler`: ack/reject/nack of one record, local retries with backoff;
- `KeyGate` (``key_ordering=True``): one running task per record key;
- `DelayedMover`: the delay topic;
- `DeadLetterTopic`: the dead-letter topic; `dead_letter_store()` (in
  `DeadLetterMethods`) is the core `DeadLetterStore` contract over it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from taskiq.abc.broker import AsyncBroker
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.acks import AckableMessage
from taskiq.exceptions import BrokerError, ListenError, SendTaskError
from taskiq.fetch_budget import UNBOUNDED, FetchBudget
from taskiq.message import BrokerMessage
from taskiq.reconnect import ReconnectBackoff
from taskiq.urls import mask_url

from taskiq_aio_kafka import headers as hdr
from taskiq_aio_kafka.connection import (
    DEFAULT_CONNECT_ATTEMPTS,
    Servers,
    start_with_retries,
)
from taskiq_aio_kafka.consumption import Consumption
from taskiq_aio_kafka.dead_letter_methods import DeadLetterMethods
from taskiq_aio_kafka.dead_letter_topic import DeadLetterTopic
from taskiq_aio_kafka.errors import KAFKA_FAILURES, NOT_STARTED, kafka_errors
from taskiq_aio_kafka.kicker import KEY_LABEL, TOPIC_LABEL, AioKafkaDecoratedTask
from taskiq_aio_kafka.queues import KafkaQueueInspector
from taskiq_aio_kafka.settler import RetryPolicy
from taskiq_aio_kafka.topic import TopicType
from taskiq_aio_kafka.topology import Topology

logger = logging.getLogger("taskiq_aio_kafka")

DEFAULT_GROUP = "taskiq"
#: Seconds the group's rebalance timeout leaves beyond ``revoke_timeout``.
REBALANCE_SLACK = 10.0
#: Milliseconds the dead-letter reader's fetch at the end of the topic waits for more.
DEAD_LETTER_FETCH_WAIT_MS = 100
#: Consumer options that only a group consumer may have (not the dead-letter reader).
_GROUP_OPTIONS = frozenset(
    {
        "group_id",
        "enable_auto_commit",
        "auto_offset_reset",
        "partition_assignment_strategy",
        "session_timeout_ms",
        "heartbeat_interval_ms",
        "max_poll_interval_ms",
        "rebalance_timeout_ms",
        "group_instance_id",
        "auto_commit_interval_ms",
    },
)


class AioKafkaBroker(DeadLetterMethods, AsyncBroker):
    """At-least-once Kafka broker: workers of one ``group_id`` share the topics' partitions.

    Offsets are committed only up to the first unfinished record of each
    partition, so tasks run concurrently without a crash skipping any; see
    docs/brokers/kafka.md for every guarantee and option.
    """

    supports_delayed_delivery = True
    task_topic_label = TOPIC_LABEL

    def __init__(
        self,
        bootstrap_servers: Servers | None = "localhost",
        kafka_topic: TopicType | None = None,
        kafka_topics: Iterable[TopicType] | None = None,
        result_backend: AsyncResultBackend[Any] | None = None,
        task_id_generator: Callable[[], str] | None = None,
        kafka_admin_client: AIOKafkaAdminClient | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        delete_topic_on_shutdown: bool = False,
        *,
        partitions: int = 1,
        key_ordering: bool = False,
        retry_policy: RetryPolicy | None = None,
        revoke_timeout: float | None = 30.0,
        delay_topic: str | None = None,
        dead_letter_topic: str | None = None,
        connect_attempts: int = DEFAULT_CONNECT_ATTEMPTS,
    ) -> None:
        super().__init__(result_backend, task_id_generator)
        del loop  # accepted for compatibility: aiokafka uses the running loop
        self.decorator_class = AioKafkaDecoratedTask
        self.bootstrap_servers: Servers = bootstrap_servers or "localhost"
        self.topology = Topology(
            kafka_topic, kafka_topics or (), partitions, delay_topic, dead_letter_topic
        )
        self.key_ordering = key_ordering
        self.retry_policy = retry_policy or RetryPolicy()
        self.revoke_timeout = revoke_timeout
        self.delete_topic_on_shutdown = delete_topic_on_shutdown
        self.connect_attempts = connect_attempts
        self.producer_options: dict[str, Any] = {"acks": "all"}
        self.consumer_options: dict[str, Any] = {
            "group_id": DEFAULT_GROUP,
            "auto_offset_reset": "earliest",
        }
        self._admin = kafka_admin_client
        self._own_admin = kafka_admin_client is None
        self._producer: AIOKafkaProducer | None = None
        self._consumption: Consumption | None = None
        self._closing = False
        self._dead_topic = DeadLetterTopic(
            self.topology.dead_letter_topic, self._started_producer, self._dead_letter_consumer
        )

    # -- configuration ---------------------------------------------------

    @property
    def topics(self) -> dict[str, TopicType]:
        """The task topics workers listen on (name → how it is created)."""
        return self.topology.topics

    @property
    def default_topic(self) -> str:
        """Where tasks without a topic of their own are sent (``kafka_topic``)."""
        return self.topology.default_topic

    @property
    def delay_topic(self) -> str:
        """Where delayed tasks wait until due."""
        return self.topology.delay_topic

    @property
    def dead_letter_topic(self) -> str:
        """Where rejected and exhausted tasks are kept."""
        return self.topology.dead_letter_topic

    def configure_producer(self, **producer_parameters: Any) -> None:
        """Options for ``AIOKafkaProducer`` (not ``bootstrap_servers``); ``acks`` stays "all"
        unless given."""
        self.producer_options = {"acks": "all", **producer_parameters}

    def configure_consumer(self, **consumer_parameters: Any) -> None:
        """Options for ``AIOKafkaConsumer`` (not ``bootstrap_servers``).

        ``enable_auto_commit`` is always off: the broker commits finished offsets itself.
        """
        if consumer_parameters.pop("enable_auto_commit", False):
            logger.warning("Ignoring enable_auto_commit=True: the broker commits offsets itself.")
        self.consumer_options = {
            "group_id": DEFAULT_GROUP,
            "auto_offset_reset": "earliest",
            **consumer_parameters,
        }

    def task(
        self,
        task_name: str | Callable[..., Any] | None = None,
        *,
        topic: TopicType | None = None,
        **labels: Any,
    ) -> Any:
        """``@broker.task(topic=...)``: the task's default topic, which workers also listen on."""
        if topic is not None:
            labels[TOPIC_LABEL] = self.topology.add(topic)
        return super().task(task_name, **labels)

    @property
    def reconnect_target(self) -> tuple[str, str]:
        """What reconnect log lines name: the service and its bootstrap servers, masked."""
        return "Kafka", self.describe()["url"]

    def describe(self) -> dict[str, str]:
        """The bootstrap servers, the task topics and the consumer group, for the banner."""
        servers = self.bootstrap_servers
        return {
            "url": mask_url(servers if isinstance(servers, str) else ",".join(servers)),
            "topics": ", ".join(self.topology.topics),
            "consumer group": str(self.consumer_options.get("group_id")),
        }

    # -- lifecycle -------------------------------------------------------

    async def startup(self) -> None:
        """Create missing topics, start the producer and, in a worker, join the group."""
        await super().startup()
        self._closing = False
        await self._ensure_topics()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers, **self.producer_options
        )
        await start_with_retries(
            self._producer.start, "producer", self.bootstrap_servers, self.connect_attempts
        )
        if self.is_worker_process:
            await self._start_consuming()

    async def shutdown(self) -> None:
        """Commit finished offsets, leave the group, flush sends, close everything."""
        self._closing = True
        consumption, self._consumption = self._consumption, None
        if consumption is not None:
            await consumption.stop()
        if self._producer is not None:
            await _quietly(self._producer.stop())
            self._producer = None
        await self._close_admin()
        await super().shutdown()

    async def _start_consuming(self) -> None:
        if self.consumer_options.get("group_id") is None:
            raise BrokerError(
                "A Kafka worker needs a consumer group to share partitions and commit "
                "offsets; call broker.configure_consumer(group_id=...) with a name."
            )
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            enable_auto_commit=False,
            **self._group_options(),
        )
        self._consumption = consumption = Consumption(
            consumer,
            delay_topic=self.topology.delay_topic,
            policy=self.retry_policy,
            revoke_timeout=self.revoke_timeout,
            key_ordering=self.key_ordering,
            send=self._send,
            dead_letter=self._dead_topic.put,
            is_closing=self._is_closing,
            outage=ReconnectBackoff(*self.reconnect_target, log=logger),
        )
        topics = self.topology.listened()
        await start_with_retries(
            lambda: consumption.reader.start(topics),
            "consumer",
            self.bootstrap_servers,
            self.connect_attempts,
        )

    def _group_options(self) -> dict[str, Any]:
        """Consumer options, with a rebalance timeout that outlasts ``revoke_timeout``.

        While a member waits for revoked tasks it has not rejoined the group; the
        coordinator drops a member that takes longer than ``rebalance_timeout_ms``
        (aiokafka's default: the session timeout, 10 s), and its commits then fail.
        """
        options = dict(self.consumer_options)
        if self.revoke_timeout is None:
            return options
        needed = int((self.revoke_timeout + REBALANCE_SLACK) * 1000)
        given = options.get("rebalance_timeout_ms")
        if given is None:
            options["rebalance_timeout_ms"] = max(needed, options.get("session_timeout_ms", 0))
        elif given < needed:
            logger.warning(
                "rebalance_timeout_ms=%s is shorter than revoke_timeout=%s s; a worker "
                "waiting for revoked tasks may be dropped from the group.",
                given,
                self.revoke_timeout,
            )
        return options

    async def _ensure_topics(self) -> None:
        """Start the admin client (with retries) and create the missing topics."""
        admin = self._admin
        if admin is None:
            admin = self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        await start_with_retries(
            admin.start, "admin client", self.bootstrap_servers, self.connect_attempts
        )
        await self.topology.ensure(admin)

    async def _close_admin(self) -> None:
        admin = self._admin
        if admin is None:
            return
        if self.delete_topic_on_shutdown:
            await self.topology.delete(admin)
        if self._own_admin:
            await _quietly(admin.close())
            self._admin = None

    def _is_closing(self) -> bool:
        return self._closing

    # -- sending ---------------------------------------------------------

    async def kick(self, message: BrokerMessage) -> None:
        """Send and wait for the broker's acknowledgement; `SendTaskError` if it fails."""
        labels = message.labels
        topic = str(labels.get(TOPIC_LABEL) or self.topology.default_topic)
        key = labels.get(KEY_LABEL)
        headers = {hdr.TASK_ID: message.task_id, hdr.TASK_NAME: message.task_name}
        delay = hdr.parse_delay(labels)
        if delay > 0:
            headers[hdr.TARGET_TOPIC] = topic
            headers[hdr.NOT_BEFORE] = f"{_now() + delay:.3f}"
            topic = self.topology.delay_topic
        encoded_key = None if key is None else str(key).encode()
        with kafka_errors(SendTaskError):
            await self._send(topic, message.message, encoded_key, headers)

    async def _send(
        self, topic: str, value: bytes, key: bytes | None, headers: dict[str, str]
    ) -> None:
        await self._started_producer().send_and_wait(
            topic, value, key=key, headers=hdr.encode(headers)
        )

    def _started_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise SendTaskError(reason=NOT_STARTED)
        return self._producer

    # -- receiving -------------------------------------------------------

    def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        """Yield each record as an `AckableMessage` (ack, reject and nack)."""
        return self.listen_with_budget(UNBOUNDED)

    async def listen_with_budget(
        self,
        budget: FetchBudget,
    ) -> AsyncGenerator[bytes | AckableMessage, None]:
        """As `listen`, taking at most ``budget.room()`` records per fetch."""
        consumption = self._consumption
        if consumption is None:
            raise ListenError(reason=NOT_STARTED + " (in a worker process)")
        async for message in consumption.messages(budget.room):
            yield message

    # -- queue inspection ------------------------------------------------

    def queue_inspector(self) -> KafkaQueueInspector:
        """Depth of the task topics: the consumer group's lag (`taskiq_aio_kafka.queues`)."""
        return KafkaQueueInspector(
            list(self.topology.topics),
            self.consumer_options.get("group_id"),
            self._started_admin,
            self._dead_letter_consumer,
            self.dead_letter_store,
        )

    def _started_admin(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            raise BrokerError(NOT_STARTED)
        return self._admin

    # -- dead letters ----------------------------------------------------

    def _dead_letter_consumer(self) -> AIOKafkaConsumer:
        """A group-less reader of the dead-letter topic: from the oldest record kept, and
        quick to answer at the end (it reads to the end and stops)."""
        options = {k: v for k, v in self.consumer_options.items() if k not in _GROUP_OPTIONS}
        options.update(auto_offset_reset="earliest", fetch_max_wait_ms=DEAD_LETTER_FETCH_WAIT_MS)
        return AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            **options,
        )


async def _quietly(action: Any) -> None:
    """Await a close on a shutdown path; a failure there is only logged."""
    try:
        await action
    except KAFKA_FAILURES as exc:
        logger.debug("Closing a Kafka client failed: %r", exc)


def _now() -> float:
    return time.time()
