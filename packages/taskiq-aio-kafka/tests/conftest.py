"""Fixtures for the Kafka tests: the shared Kafka-API server, unique topics, cleanup.

The server is the one `scripts/services` starts on 127.0.0.1:9092 (tansu, a
Kafka-API broker with memory storage). Every test gets its own topic names and
consumer group (a uuid suffix) and deletes its topics afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from taskiq import AsyncBroker, Receiver

KAFKA_HOST = "127.0.0.1"
KAFKA_PORT = 9092
KAFKA_URL = f"{KAFKA_HOST}:{KAFKA_PORT}"


@dataclass
class Names:
    """Unique topic and group names for one test."""

    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    topics: list[str] = field(default_factory=list)

    def topic(self, base: str = "tasks") -> str:
        """A unique topic name; it and its delay and dead-letter topics are deleted after."""
        name = f"t-{base}-{self.suffix}"
        self.topics += [name, f"{name}-delayed", f"{name}-dead-letters"]
        return name

    def group(self, base: str = "group") -> str:
        return f"g-{base}-{self.suffix}"


@pytest.fixture
def kafka_url(require_service: Callable[[str, str, int], None]) -> str:
    require_service("Kafka", KAFKA_HOST, KAFKA_PORT)
    return KAFKA_URL


@pytest.fixture
async def names(kafka_url: str) -> AsyncIterator[Names]:
    found = Names()
    yield found
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_url)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [topic for topic in found.topics if topic in existing]
        if doomed:
            with contextlib.suppress(Exception):
                await admin.delete_topics(doomed)
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def running_worker(broker: AsyncBroker, **receiver_kwargs: Any) -> AsyncIterator[None]:
    """Run a receiver for ``broker`` in this event loop; stop and shut down on exit."""
    broker.is_worker_process = True
    await broker.startup()
    receiver = Receiver(broker, **receiver_kwargs)
    finish = asyncio.Event()
    task = asyncio.create_task(receiver.listen(finish))
    try:
        yield
    finally:
        finish.set()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 20)
        await broker.shutdown()


async def wait_for(condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Poll ``condition`` until it is truthy; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        await asyncio.sleep(0.05)


@pytest.fixture
def run_worker() -> Callable[..., contextlib.AbstractAsyncContextManager[None]]:
    """`running_worker` as a fixture (test modules cannot import conftest)."""
    return running_worker


@pytest.fixture
def eventually() -> Callable[..., Any]:
    """`wait_for` as a fixture: ``await eventually(lambda: cond, timeout=30)``."""
    return wait_for
