"""One broker under test: its servers, the proxy in front of them, a client, raw access.

Redis and NATS get servers of their own on free ports (restartable); Kafka a
tansu of its own (in memory: never restarted); RabbitMQ uses the shared server
on :5672 with queue and exchange names unique to the scenario, and is never
restarted. The worker always reaches its server through
a `PartitionProxy`; the scenario's client, its raw pushes and its inspections
go straight to the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import nats
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from redis.asyncio import Redis
from taskiq import AsyncBroker, dead_letters_of
from taskiq_nats.buckets import result_key

from taskiq_chaos.brokers import build_broker, kafka_names, nats_names, rabbit_names
from taskiq_chaos.config import RECORD_URL, BrokerKind, ChaosConfig
from taskiq_chaos.proxy import PartitionProxy
from taskiq_chaos.servers import NatsServer, PrivateServer, RedisServer, TansuServer

RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672/"


class Target:
    """The common part: config, proxy, client broker, cleanup of the shared Redis."""

    kind: BrokerKind = "redis"
    server: PrivateServer | None = None

    def __init__(self, directory: Path, redelivery_ms: int = 2000, qos: int = 10) -> None:
        self.directory = directory
        self.queue = f"chaos{uuid.uuid4().hex[:10]}"
        self.record_key = f"taskiq-chaos:{self.queue}:runs"
        self.redelivery_ms = redelivery_ms
        self.qos = qos
        self.proxy: PartitionProxy | None = None
        self.client: AsyncBroker | None = None
        self.records = Redis.from_url(RECORD_URL, decode_responses=True)

    # -- lifecycle --------------------------------------------------------

    def server_port(self) -> int:
        assert self.server is not None
        return self.server.port

    def direct_url(self) -> str:
        assert self.server is not None
        return self.server.url

    def worker_url(self) -> str:
        assert self.proxy is not None
        return self.proxy.url("redis", "/0")

    def results_urls(self) -> tuple[str, str]:
        """(worker's, client's) result backend URL."""
        return self.worker_url(), self.direct_url()

    async def start(self) -> None:
        if self.server is not None:
            await asyncio.to_thread(self.server.start)
        self.proxy = PartitionProxy(self.server_port())
        self.proxy.start()
        self.client = build_broker(self.client_config())
        await self.client.startup()

    async def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.shutdown()
        if self.proxy is not None:
            self.proxy.close()
        with contextlib.suppress(Exception):
            await self.cleanup_server_side()
        if self.server is not None:
            await asyncio.to_thread(self.server.stop)
        keys = [key async for key in self.records.scan_iter(f"*{self.queue}*", count=1000)]
        if keys:
            await self.records.delete(*keys)
        await self.records.aclose()

    async def cleanup_server_side(self) -> None:
        """Delete what the scenario left on a shared server (nothing for our own servers)."""

    def worker_config(self) -> ChaosConfig:
        worker_results, _ = self.results_urls()
        return self.client_config().replace(
            broker_url=self.worker_url(), results_url=worker_results
        )

    def client_config(self) -> ChaosConfig:
        _, client_results = self.results_urls()
        return ChaosConfig(
            kind=self.kind,
            broker_url=self.direct_url(),
            results_url=client_results,
            queue=self.queue,
            record_key=self.record_key,
            redelivery_ms=self.redelivery_ms,
            qos=self.qos,
        )

    @property
    def restartable(self) -> bool:
        return self.server is not None

    async def restart_server(self, down_for: float = 1.0) -> None:
        assert self.server is not None, "only our own servers are restarted"
        await asyncio.to_thread(self.server.restart, down_for)

    async def run_lines(self) -> list[str]:
        return [str(line) for line in await self.records.lrange(self.record_key, 0, -1)]

    # -- raw access (malformed corpus) and inspection -----------------------

    async def push_raw(self, payload: bytes, extra: dict[str, Any] | None = None) -> None:
        raise NotImplementedError

    async def write_result(self, task_id: str, raw: bytes) -> None:
        """Overwrite the stored result of ``task_id`` with ``raw`` (forged results)."""
        async with Redis.from_url(self.results_urls()[1]) as client:
            await client.set(f"{self.queue}:{task_id}", raw)

    async def backlog(self) -> int:
        """Messages still queued (ready or unsettled); 0 once everything is settled."""
        raise NotImplementedError

    async def dead_letter_count(self) -> int:
        raise NotImplementedError

    async def storage_now(self) -> int:
        """Bytes the server holds for the task queue itself (the soak's flatness check).

        Results (kept for an hour) and dead letters (bounded, and fed on purpose by
        the malformed bursts) are not counted: they grow by design.
        """
        raise NotImplementedError


class RedisTarget(Target):
    kind: BrokerKind = "redis"

    def __init__(self, directory: Path, redelivery_ms: int = 2000, qos: int = 10) -> None:
        super().__init__(directory, redelivery_ms, qos)
        self.server = RedisServer(directory / "redis")

    @property
    def stream(self) -> str:
        return f"{{{self.queue}}}"

    def raw(self) -> Redis:
        return Redis.from_url(self.direct_url())

    async def push_raw(self, payload: bytes, extra: dict[str, Any] | None = None) -> None:
        """XADD an entry: ``extra["fields"]`` replaces the usual data/task_id/task_name."""
        fields: dict[Any, Any] = (extra or {}).get("fields") or {
            b"data": payload,
            b"task_id": uuid.uuid4().hex.encode(),
            b"task_name": b"chaos.malformed",
        }
        async with self.raw() as client:
            await client.xadd(self.stream, fields)

    async def backlog(self) -> int:
        async with self.raw() as client:
            return int(await client.xlen(self.stream)) + int(
                await client.zcard(f"{self.stream}:delayed")
            )

    async def storage_now(self) -> int:
        """MEMORY USAGE of the queue's stream and delayed set."""
        async with self.raw() as client:
            used = [
                await client.memory_usage(key) for key in (self.stream, f"{self.stream}:delayed")
            ]
            return sum(int(size or 0) for size in used)

    async def dead_letter_count(self) -> int:
        async with self.raw() as client:
            return int(await client.xlen(f"{self.stream}:dead"))


class NatsTarget(Target):
    kind: BrokerKind = "nats"

    def __init__(self, directory: Path, redelivery_ms: int = 2000, qos: int = 10) -> None:
        super().__init__(directory, redelivery_ms, qos)
        self.server = NatsServer(directory / "nats")
        self.names = nats_names(self.queue)

    def worker_url(self) -> str:
        assert self.proxy is not None
        return self.proxy.url("nats")

    async def push_raw(self, payload: bytes, extra: dict[str, Any] | None = None) -> None:
        """Publish on the task subject; ``extra["headers"]`` become the NATS headers."""
        headers = (extra or {}).get("headers")
        client = await nats.connect(self.direct_url())
        try:
            await client.jetstream().publish(
                self.names["subject"], payload, stream=self.names["stream"], headers=headers
            )
        finally:
            await client.close()

    async def write_result(self, task_id: str, raw: bytes) -> None:
        client = await nats.connect(self.direct_url())
        try:
            bucket = await client.jetstream().key_value(self.names["bucket"])
            await bucket.put(result_key("result", task_id), raw)
        finally:
            await client.close()

    async def _messages(self, stream: str) -> int:
        client = await nats.connect(self.direct_url())
        try:
            info = await client.jetstream().stream_info(stream)
            return int(info.state.messages)
        finally:
            await client.close()

    async def backlog(self) -> int:
        return await self._messages(self.names["stream"])

    async def storage_now(self) -> int:
        """Bytes JetStream stores for the task stream."""
        client = await nats.connect(self.direct_url())
        try:
            info = await client.jetstream().stream_info(self.names["stream"])
            return int(info.state.bytes)
        finally:
            await client.close()

    async def dead_letter_count(self) -> int:
        return await self._messages(f"{self.names['stream']}_dead_letters")


class RabbitTarget(Target):
    """The shared RabbitMQ, behind our proxy; results on the shared Redis."""

    kind: BrokerKind = "rabbitmq"

    def __init__(self, directory: Path, redelivery_ms: int = 2000, qos: int = 10) -> None:
        super().__init__(directory, redelivery_ms, qos)
        self.names = rabbit_names(self.queue)

    def server_port(self) -> int:
        return 5672

    def direct_url(self) -> str:
        return RABBIT_URL

    def worker_url(self) -> str:
        assert self.proxy is not None
        return self.proxy.url("amqp", "/", "guest:guest@")

    def results_urls(self) -> tuple[str, str]:
        return RECORD_URL, RECORD_URL

    async def push_raw(self, payload: bytes, extra: dict[str, Any] | None = None) -> None:
        """Publish to the task queue; ``extra["properties"]`` are AMQP message properties."""
        properties = (extra or {}).get("properties") or {}
        connection = await aio_pika.connect(RABBIT_URL)
        async with connection:
            channel = await connection.channel()
            message = aio_pika.Message(body=payload, **properties)
            await channel.default_exchange.publish(message, routing_key=self.names["queue"])

    async def _count(self, queue: str) -> int:
        connection = await aio_pika.connect(RABBIT_URL)
        async with connection:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, passive=True)
            return int(declared.declaration_result.message_count or 0)

    async def backlog(self) -> int:
        return await self._count(self.names["queue"])

    async def dead_letter_count(self) -> int:
        return await self._count(f"{self.names['queue']}.dead_letter")

    async def storage_now(self) -> int:
        """The shared server's disk is not ours to measure: messages left in our queue."""
        return await self.backlog()

    async def cleanup_server_side(self) -> None:
        queue, exchange = self.names["queue"], self.names["exchange"]
        connection = await aio_pika.connect(RABBIT_URL)
        async with connection:
            for name in (queue, f"{queue}.dead_letter", f"{queue}.delay"):
                with contextlib.suppress(Exception):
                    channel = await connection.channel()
                    await channel.queue_delete(name)
            for name in (exchange, f"{exchange}.dead_letter", f"{exchange}.delay"):
                with contextlib.suppress(Exception):
                    channel = await connection.channel()
                    await channel.exchange_delete(name)


class KafkaTarget(Target):
    """A private tansu that advertises the proxy's port; results on the shared Redis.

    The client bootstraps from the server itself but, like every Kafka client,
    then talks to the advertised address: the proxy. Scenarios send everything
    before a fault, so only the worker is ever cut off.
    """

    kind: BrokerKind = "kafka"

    def __init__(self, directory: Path, redelivery_ms: int = 2000, qos: int = 10) -> None:
        super().__init__(directory, redelivery_ms, qos)
        self.tansu = TansuServer(directory / "kafka")
        self.server = self.tansu
        self.names = kafka_names(self.queue)

    @property
    def restartable(self) -> bool:
        return False  # memory storage: a restart would lose everything, not test anything

    def worker_url(self) -> str:
        assert self.proxy is not None
        return f"127.0.0.1:{self.proxy.port}"

    def results_urls(self) -> tuple[str, str]:
        return RECORD_URL, RECORD_URL

    async def start(self) -> None:
        self.proxy = PartitionProxy(self.tansu.port)
        self.proxy.start()
        self.tansu.advertised_port = self.proxy.port
        await asyncio.to_thread(self.tansu.start)
        self.client = build_broker(self.client_config())
        await self.client.startup()

    async def push_raw(self, payload: bytes, extra: dict[str, Any] | None = None) -> None:
        """Produce to the task topic; ``extra["headers"]`` are (name, bytes) Kafka headers."""
        headers = (extra or {}).get("headers")
        producer = AIOKafkaProducer(bootstrap_servers=self.direct_url(), acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(self.names["topic"], payload, headers=headers)
        finally:
            await producer.stop()

    async def backlog(self) -> int:
        """Records of the task topic at or after the group's committed positions.

        Counted by reading them: tansu's end offsets (ListOffsets) can lag behind
        the records it holds, so "end minus committed" is not trusted here.
        """
        group = AIOKafkaConsumer(
            bootstrap_servers=self.direct_url(),
            group_id=self.names["group"],
            enable_auto_commit=False,
        )
        reader = AIOKafkaConsumer(bootstrap_servers=self.direct_url(), enable_auto_commit=False)
        await group.start()
        await reader.start()
        try:
            await group.topics()  # load the metadata
            numbers = group.partitions_for_topic(self.names["topic"]) or set()
            partitions = [TopicPartition(self.names["topic"], n) for n in sorted(numbers)]
            positions = {p: await group.committed(p) for p in partitions}
            reader.assign(partitions)
            for partition, position in positions.items():
                if position is None:
                    reader.seek_to_beginning(partition)
                else:
                    reader.seek(partition, position)
            left = 0
            while batch := await reader.getmany(timeout_ms=1000, max_records=10_000):
                left += sum(len(records) for records in batch.values())
            return left
        finally:
            await reader.stop()
            await group.stop()

    async def dead_letter_count(self) -> int:
        assert self.client is not None
        return await dead_letters_of(self.client).count()

    async def storage_now(self) -> int:
        """A server of our own in memory: messages left in the task topic."""
        return await self.backlog()


TARGETS: dict[str, type[Target]] = {
    "redis": RedisTarget,
    "rabbitmq": RabbitTarget,
    "nats": NatsTarget,
    "kafka": KafkaTarget,
}
