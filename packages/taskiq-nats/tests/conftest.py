"""Fixtures for the NATS tests: the shared server, unique names, cleanup, workers.

Every test gets its own stream, subject, consumer and bucket names (a uuid
suffix) and deletes them afterwards, because other people use the same server.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import nats
import pytest
from nats.js.errors import NotFoundError
from taskiq import AsyncBroker, Receiver

NATS_HOST = "127.0.0.1"
NATS_PORT = 4222
NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"


@dataclass
class Names:
    """Unique names for one test, and what to delete after it."""

    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    streams: list[str] = field(default_factory=list)
    buckets: list[str] = field(default_factory=list)

    def stream(self, base: str = "stream") -> str:
        """A unique stream name, deleted (with its dead-letter stream) after the test."""
        name = f"t_{base}_{self.suffix}"
        self.streams += [name, f"{name}_dead_letters"]
        return name

    def subject(self, base: str = "tasks") -> str:
        return f"t.{base}.{self.suffix}"

    def bucket(self, base: str = "kv") -> str:
        """A unique KV bucket name, deleted after the test (with its workers bucket)."""
        name = f"t_{base}_{self.suffix}"
        self.buckets += [name, f"{name}_workers"]
        return name


@pytest.fixture
def nats_url(require_service: Callable[[str, str, int], None]) -> str:
    require_service("NATS", NATS_HOST, NATS_PORT)
    return NATS_URL


@pytest.fixture
async def names(nats_url: str) -> AsyncIterator[Names]:
    found = Names()
    yield found
    client = await nats.connect(nats_url)
    js = client.jetstream()
    for stream in found.streams:
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(stream)
    for bucket in found.buckets:
        with contextlib.suppress(NotFoundError):
            await js.delete_key_value(bucket)
    await client.close()


@contextlib.asynccontextmanager
async def running_worker(broker: AsyncBroker, **receiver_kwargs: object) -> AsyncIterator[None]:
    """Run a receiver for ``broker`` in this event loop; stop and shut down on exit."""
    broker.is_worker_process = True
    await broker.startup()
    receiver = Receiver(broker, **receiver_kwargs)  # type: ignore[arg-type]
    task = asyncio.create_task(receiver.listen(asyncio.Event()))
    try:
        yield
    finally:
        await broker.shutdown()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 10)


async def wait_for(condition: Callable[[], object], timeout: float = 20.0) -> None:
    """Poll ``condition`` until it is truthy; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)


@pytest.fixture
def run_worker() -> Callable[..., contextlib.AbstractAsyncContextManager[None]]:
    """`running_worker` as a fixture (test modules cannot import conftest)."""
    return running_worker


@pytest.fixture
def eventually() -> Callable[..., Any]:
    """`wait_for` as a fixture: ``await eventually(lambda: cond, timeout=20)``."""
    return wait_for
