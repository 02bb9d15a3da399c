"""A real worker path (receiver, events, dependency injection) with no service behind it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from taskiq import AckableMessage, AsyncBroker, BrokerMessage, InmemoryResultBackend
from taskiq.api import run_receiver_task


class QueueBroker(AsyncBroker):
    """Delivers kicked messages to a receiver in the same process through a queue."""

    def __init__(self) -> None:
        super().__init__(result_backend=InmemoryResultBackend())
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    async def kick(self, message: BrokerMessage) -> None:
        await self.queue.put(message.message)

    async def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        while True:
            yield await self.queue.get()


@contextlib.asynccontextmanager
async def running_worker(broker: AsyncBroker) -> AsyncIterator[AsyncBroker]:
    """Start ``broker`` as a worker, run a receiver, and stop both as the CLI does.

    The shutdown goes through ``asyncio.wait_for`` (a different task than the
    startup on Python 3.11), like the worker's bounded shutdown.
    """
    broker.is_worker_process = True
    await broker.startup()
    receiving = asyncio.create_task(run_receiver_task(broker))
    try:
        yield broker
    finally:
        receiving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiving
        await asyncio.wait_for(broker.shutdown(), 20)


async def run_task(task: Any, *args: Any, **kwargs: Any) -> Any:
    """Kick ``task`` and return its value, raising the task's error if it failed."""
    sent = await task.kiq(*args, **kwargs)
    result = await sent.wait_result(timeout=20)
    result.raise_for_error()
    return result.return_value
