"""Small helpers shared by the tests: polling for a condition, reading marks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from taskiq.abc.broker import AsyncBroker
from taskiq.acks import AckableMessage
from taskiq.kicker import AsyncKicker


async def eventually(
    condition: Callable[[], Awaitable[bool]],
    timeout: float = 20.0,
    what: str = "condition",
) -> float:
    """Poll ``condition`` until true; return seconds waited; fail after ``timeout``."""
    start = time.monotonic()
    while not await condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what} not reached within {timeout} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def marks(client: Redis, queue: str, kind: str) -> dict[int, int]:
    """How often each task number was started/done (see redis_worker_app.py)."""
    raw = await client.hgetall(f"{queue}:marks:{kind}")
    return {int(key): int(value) for key, value in raw.items()}


def kicker(broker: AsyncBroker, task_name: str = "record", **labels: Any) -> AsyncKicker[Any, Any]:
    """Send a task by name, as a client that does not import the worker's code."""
    return AsyncKicker(task_name, broker, labels)


async def next_message(listener: Any, timeout: float = 20.0) -> AckableMessage:
    """The next delivery of a ``broker.listen()`` generator."""
    message = await asyncio.wait_for(listener.__anext__(), timeout)
    assert isinstance(message, AckableMessage)
    return message
