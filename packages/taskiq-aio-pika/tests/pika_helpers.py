"""Helpers for the RabbitMQ tests: server-side inspection, waiting, worker processes.

Only loopback services are used. Connections are named with the test's unique
prefix so a test can close *its own* connections with rabbitmqctl.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from redis.asyncio import Redis
from taskiq_aio_pika import AioPikaBroker

RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672/"
REDIS_URL = "redis://127.0.0.1:6379/0"
WORKER_APP = Path(__file__).with_name("worker_app.py")
DEADLINE = 20.0


def rabbitmqctl(*args: str) -> str:
    """Run rabbitmqctl quietly and return its output (JSON where asked)."""
    done = subprocess.run(
        ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout


def _listing(kind: str, *columns: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = json.loads(
        rabbitmqctl(kind, *columns, "--formatter", "json") or "[]"
    )
    return result


def queues_stats(prefix: str) -> dict[str, dict[str, Any]]:
    """Server-side view of the queues named ``prefix...`` (type, counters, arguments)."""
    columns = ("name", "durable", "type", "messages_ready", "messages_unacknowledged", "arguments")
    found = {}
    for row in _listing("list_queues", *columns):
        if row["name"].startswith(prefix):
            row["arguments"] = {item[0]: item[2] for item in row["arguments"]}
            found[row["name"]] = row
    return found


def queue_stats(name: str) -> dict[str, Any]:
    """Server-side view of one queue; empty if it does not exist."""
    return queues_stats(name).get(name, {})


def queues_named(prefix: str) -> list[str]:
    return [
        row["name"] for row in _listing("list_queues", "name") if row["name"].startswith(prefix)
    ]


def connections_named(connection_name: str) -> list[str]:
    """Server pids of the connections whose client set ``connection_name``.

    (The tab output is used because close_connection wants the pid in the
    ``<rabbit@host.N.N.N>`` form, which the JSON formatter does not print.)
    """
    marker = f'{{"connection_name","{connection_name}"}}'
    lines = rabbitmqctl("list_connections", "pid", "client_properties").splitlines()
    return [line.split("\t")[0] for line in lines if marker in line]


def close_connections(connection_name: str) -> int:
    """Close only the connections that we named ``connection_name``."""
    pids = connections_named(connection_name)
    for pid in pids:
        rabbitmqctl("close_connection", pid, "taskiq test: simulated connection loss")
    return len(pids)


async def wait_for(
    condition: Callable[[], Awaitable[bool] | bool],
    what: str,
    deadline: float = DEADLINE,
) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while True:
        outcome = condition()
        if not isinstance(outcome, bool):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > end:
            pytest.fail(f"Timed out after {deadline} s waiting for {what}")
        await asyncio.sleep(0.1)


@dataclass
class Names:
    """Unique names for one test."""

    prefix: str

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.x"

    @property
    def queue(self) -> str:
        return f"{self.prefix}.q"

    def __call__(self, suffix: str) -> str:
        return f"{self.prefix}.{suffix}"


async def delete_topology(prefix: str) -> None:
    connection = await aio_pika.connect(RABBIT_URL)
    try:
        for name in queues_named(prefix):
            channel = await connection.channel()
            await channel.queue_delete(name)
            await channel.close()
        for row in _listing("list_exchanges", "name"):
            if row["name"].startswith(prefix):
                channel = await connection.channel()
                await channel.exchange_delete(row["name"])
                await channel.close()
    finally:
        await connection.close()


BrokerFactory = Callable[..., Awaitable[AioPikaBroker]]


@dataclass
class RecordList:
    client: Redis
    key: str

    async def values(self) -> list[str]:
        return list(await self.client.lrange(self.key, 0, -1))


@dataclass
class Worker:
    """A worker subprocess running tests/worker_app.py."""

    process: subprocess.Popen[str]
    connection_name: str
    log: Path

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


@dataclass
class WorkerStarter:
    names: Names
    record_key: str
    tmp_path: Path
    workers: list[Worker] = field(default_factory=list)

    async def __call__(self, label: str, **config: Any) -> Worker:
        connection_name = f"{self.names.prefix}-worker-{label}"
        config.setdefault("broker", {})
        config["broker"].setdefault("exchange_name", self.names.exchange)
        config["broker"].setdefault("queue_name", self.names.queue)
        config["broker"]["connection_name"] = connection_name
        config.update(url=RABBIT_URL, redis_url=REDIS_URL, record_key=self.record_key)
        log = self.tmp_path / f"worker-{label}.log"
        with log.open("w") as output:
            process = subprocess.Popen(  # noqa: ASYNC220
                [sys.executable, str(WORKER_APP), json.dumps(config)],
                stdout=output,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        worker = Worker(process, connection_name, log)
        self.workers.append(worker)
        await wait_for(
            lambda: "worker ready" in worker.output() or process.poll() is not None,
            f"worker {label} to start",
        )
        assert process.poll() is None, f"worker {label} died:\n{worker.output()}"
        return worker


async def has_dead_letters(
    broker: AioPikaBroker, count: int, queue_name: str | None = None
) -> bool:
    """Whether the dead-letter queue of ``queue_name`` holds exactly ``count`` messages."""
    return await broker.dead_letter_count(queue_name) == count


class TcpProxy:
    """A loopback TCP proxy to RabbitMQ that a test can take down and bring back.

    Taking it down looks to the client like a RabbitMQ restart or a network
    outage, without touching the shared server.
    """

    def __init__(self, target_port: int = 5672) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and cut every proxied connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer),
            self._pipe(up_reader, writer),
            return_exceptions=True,
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.transport.abort()
