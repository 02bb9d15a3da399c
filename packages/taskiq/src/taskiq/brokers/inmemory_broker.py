"""Runs tasks in the current process, on the same receiver path as a real worker.

Meant for development and tests: middlewares, dependencies, argument casting,
timeouts, ack labels and result storage behave as they do in ``taskiq worker``,
without any service. Results go to an `InmemoryResultBackend` that keeps the
newest ``max_stored_results`` (100 by default; ``-1`` keeps all).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
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
from taskiq.time_labels import received_delay

__all__ = ["InMemoryBroker", "InmemoryResultBackend"]

logger = logging.getLogger("taskiq.inmemory")

#: How many task errors `InMemoryBroker.wait_all(raise_errors=True)` remembers.
MAX_REMEMBERED_ERRORS = 100


class InMemoryBroker(AsyncBroker):
    """A broker with no transport: ``kiq`` hands the message to a local `Receiver`.

    - ``await_inplace=True``: the task has run (and its result is stored) when
      ``kiq`` returns. Otherwise it runs as a background asyncio task and
      `wait_all` waits for every one of them.
    - ``max_async_tasks``: background tasks running at once (None: no bound).
    - ``sync_tasks_pool_size``: threads for sync tasks.
    - ``cast_types``: cast arguments to annotations, as ``taskiq worker`` does.
    - ``max_stored_results``: bound of the default result backend (-1: none).
    """

    def __init__(
        self,
        sync_tasks_pool_size: int = 4,
        max_stored_results: int = DEFAULT_MAX_STORED_RESULTS,
        cast_types: bool = True,
        result_backend: AsyncResultBackend[Any] | None = None,
        task_id_generator: Callable[[], str] | None = None,
        max_async_tasks: int | None = 30,
        propagate_exceptions: bool = True,
        await_inplace: bool = False,
    ) -> None:
        super().__init__(
            result_backend or InmemoryResultBackend(max_stored_results),
            task_id_generator,
        )
        self.sync_tasks_pool_size = sync_tasks_pool_size
        self.max_async_tasks = max_async_tasks
        self.await_inplace = await_inplace
        self.executor = ThreadPoolExecutor(max_workers=sync_tasks_pool_size)
        self.receiver = Receiver(
            broker=self,
            executor=self.executor,
            validate_params=cast_types,
            max_async_tasks=max_async_tasks,
            propagate_exceptions=propagate_exceptions,
        )
        #: Background work: runners and delayed sends (the loop keeps weak references only).
        self._running: set[asyncio.Task[None]] = set()
        self._queue: deque[bytes] = deque()
        self._runners: set[asyncio.Task[None]] = set()
        self._runners_loop: asyncio.AbstractEventLoop | None = None
        self._errors: deque[BaseException] = deque(maxlen=MAX_REMEMBERED_ERRORS)
        self._executor_closed = False

    async def kick(self, message: BrokerMessage) -> None:
        """Run the task here: before returning (``await_inplace``) or in the background.

        In the background a ``delay`` label (seconds) is honoured.
        """
        if self.find_task(message.task_name) is None:
            raise UnknownTaskError(
                f"No task named {message.task_name!r} is registered on this InMemoryBroker; "
                "declare it with @broker.task (or import its module) before sending it.",
                task_name=message.task_name,
            )
        self._ensure_executor()  # kiq() after shutdown() without startup() still works
        if self.await_inplace:
            await self._run(message.message)
            return
        delay = _delay_from_labels(message.labels, message.task_name)
        if delay:
            self._track(asyncio.create_task(self._enqueue_later(message.message, delay)))
            return
        self._enqueue(message.message)

    async def _enqueue_later(self, payload: bytes, delay: float) -> None:
        await asyncio.sleep(delay)
        self._enqueue(payload)

    def _enqueue(self, payload: bytes) -> None:
        """Queue a task for the runners, starting one more if the bound allows.

        At most ``max_async_tasks`` runners take queued tasks one after the other,
        rather than one asyncio task per message waiting on a semaphore: a burst
        of ``kiq`` calls then costs no task objects beyond the runners.
        """
        self._queue.append(payload)
        self._add_runner()

    def _add_runner(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._runners_loop:  # those runners belong to an earlier event loop
            self._runners, self._runners_loop = set(), loop
        limit = self.max_async_tasks if self.max_async_tasks and self.max_async_tasks > 0 else None
        if limit is None or len(self._runners) < limit:
            runner = loop.create_task(self._run_queued())
            self._runners.add(runner)
            runner.add_done_callback(self._runners.discard)
            self._track(runner)

    def _track(self, task: asyncio.Task[None]) -> None:
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run_queued(self) -> None:
        queue = self._queue
        while queue:
            await self._run(queue.popleft())

    async def _run(self, payload: bytes) -> None:
        result = await self.receiver.callback(payload)
        if result is not None and result.error is not None:
            self._errors.append(result.error)

    def _ensure_executor(self) -> None:
        if self._executor_closed:
            self.executor = ThreadPoolExecutor(max_workers=self.sync_tasks_pool_size)
            self.receiver.executor = self.executor
            self._executor_closed = False

    def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        """In-memory brokers deliver through ``kick``; there is nothing to listen to."""
        raise ListenError(
            "InMemoryBroker runs tasks inside kiq(); it cannot be used with `taskiq worker`. "
            "Use a broker with a transport (Redis, RabbitMQ, NATS) for separate workers.",
            reason="no transport",
        )

    async def wait_all(self, raise_errors: bool = False) -> None:
        """Wait until every task sent with ``kiq`` has finished (tasks they send too).

        With ``raise_errors=True``, re-raise the first error of a task that
        failed since the last call, so a test fails where a task failed. The
        remembered errors are cleared either way.
        """
        loop = asyncio.get_running_loop()
        while True:
            if self._queue and not self._runners:  # its runners were cancelled
                self._add_runner()
            pending = [task for task in self._running if task.get_loop() is loop]
            if not pending:
                break
            await asyncio.gather(*pending, return_exceptions=True)
        errors = list(self._errors)
        self._errors.clear()
        if raise_errors and errors:
            if len(errors) > 1:
                logger.error("%d tasks failed; raising the first error.", len(errors))
            raise errors[0]

    async def startup(self) -> None:
        """Run worker *and* client startup: this process is both. Restartable after shutdown."""
        self._ensure_executor()
        await self._fire(TaskiqEvents.WORKER_STARTUP)
        await super().startup()

    async def shutdown(self) -> None:
        """Finish running tasks, run both sides' shutdown, then release the thread pool."""
        await self.wait_all()
        await self._fire(TaskiqEvents.WORKER_SHUTDOWN)
        await super().shutdown()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self._executor_closed = True


def _delay_from_labels(labels: dict[str, Any], task_name: str) -> float:
    """The delay of a message given to ``kick`` directly: unusable ignored, capped (logged)."""
    return received_delay(labels, task_name)
