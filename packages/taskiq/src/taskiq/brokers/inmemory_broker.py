"""Runs tasks in the current process, on the same receiver path as a real worker.

Meant for development and tests: middlewares, dependencies, casting and
timeouts behave as they would in ``taskiq worker``, without any service.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from taskiq.abc.broker import AsyncBroker
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.acks import AckableMessage
from taskiq.events import TaskiqEvents
from taskiq.exceptions import ListenError, UnknownTaskError
from taskiq.message import BrokerMessage
from taskiq.receiver import Receiver
from taskiq.result_backends.inmemory import DEFAULT_MAX_STORED_RESULTS, InmemoryResultBackend


class InMemoryBroker(AsyncBroker):
    """A broker with no transport: ``kiq`` hands the message to a local receiver.

    ``await_inplace=True`` runs the task before ``kiq`` returns; otherwise it
    runs in the background and ``wait_all()`` waits for every running task.
    """

    def __init__(
        self,
        sync_tasks_pool_size: int = 4,
        max_stored_results: int = DEFAULT_MAX_STORED_RESULTS,
        cast_types: bool = True,
        result_backend: AsyncResultBackend[Any] | None = None,
        task_id_generator: Callable[[], str] | None = None,
        max_async_tasks: int = 30,
        propagate_exceptions: bool = True,
        await_inplace: bool = False,
    ) -> None:
        super().__init__(
            result_backend or InmemoryResultBackend(max_stored_results),
            task_id_generator,
        )
        self.executor = ThreadPoolExecutor(max_workers=sync_tasks_pool_size)
        self.await_inplace = await_inplace
        self.receiver = Receiver(
            broker=self,
            executor=self.executor,
            validate_params=cast_types,
            max_async_tasks=max_async_tasks,
            propagate_exceptions=propagate_exceptions,
        )
        self._running: set[asyncio.Task[None]] = set()

    async def kick(self, message: BrokerMessage) -> None:
        """Run the task here: now (``await_inplace``) or as a background task."""
        if self.find_task(message.task_name) is None:
            raise UnknownTaskError(task_name=message.task_name)
        run = self.receiver.callback(message.message, raise_err=True)
        if self.await_inplace:
            await run
            return
        task = asyncio.create_task(run)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        """In-memory brokers deliver through ``kick``; there is nothing to listen to."""
        raise ListenError(
            "InMemoryBroker runs tasks inside kiq(); it cannot be used with `taskiq worker`.",
            reason="no transport",
        )

    async def wait_all(self) -> None:
        """Wait until every task started by ``kiq`` has finished."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def startup(self) -> None:
        """Run worker *and* client startup: this process is both."""
        await self._fire(TaskiqEvents.WORKER_STARTUP)
        await super().startup()

    async def shutdown(self) -> None:
        """Finish running tasks, then run both sides' shutdown."""
        await self.wait_all()
        await self._fire(TaskiqEvents.WORKER_SHUTDOWN)
        await super().shutdown()
