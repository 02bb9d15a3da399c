"""Receives deliveries from a broker and runs them: prefetch → decode → run → settle.

Each step is its own small function so the path of one message can be read
top to bottom in `Receiver.callback`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from taskiq_dependencies import DependencyGraph

from taskiq.abc.broker import AsyncBroker
from taskiq.acks import AckableMessage, AcknowledgeType
from taskiq.context import Context
from taskiq.result import TaskiqResult
from taskiq.state import TaskiqState

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.decor import AsyncTaskiqDecoratedTask
    from taskiq.message import TaskiqMessage

logger = logging.getLogger("taskiq.receiver")


class Receiver:
    """Runs tasks delivered by ``broker.listen()`` inside one worker process."""

    def __init__(
        self,
        broker: AsyncBroker,
        executor: Executor | None = None,
        validate_params: bool = True,
        max_async_tasks: int | None = None,
        max_prefetch: int = 0,
        propagate_exceptions: bool = True,
        run_startup: bool = False,
        ack_type: AcknowledgeType | None = None,
        on_exit: Any = None,
        max_tasks_to_execute: int | None = None,
        wait_tasks_timeout: float | None = None,
    ) -> None:
        self.broker = broker
        self.executor = executor
        self.validate_params = validate_params
        self.max_async_tasks = max_async_tasks
        self.max_prefetch = max_prefetch
        self.propagate_exceptions = propagate_exceptions
        self.run_startup = run_startup
        self.ack_type = ack_type or AcknowledgeType.WHEN_SAVED
        self.on_exit = on_exit
        self.max_tasks_to_execute = max_tasks_to_execute
        self.wait_tasks_timeout = wait_tasks_timeout
        self._graphs: dict[str, DependencyGraph] = {}

    async def callback(self, message: bytes | AckableMessage, raise_err: bool = False) -> None:
        """Process one delivery from start to finish."""
        data = message.data if isinstance(message, AckableMessage) else message
        raw = data.encode() if isinstance(data, str) else data
        try:
            taskiq_msg = self.broker.formatter.loads(raw)
        except ValueError:
            logger.exception("Dropping a message that cannot be decoded: %.200r", raw)
            await _settle(message, reject=True)
            return
        task = self.broker.find_task(taskiq_msg.task_name)
        if task is None:
            logger.error("Dropping message for unknown task %r.", taskiq_msg.task_name)
            await _settle(message, reject=True)
            return
        taskiq_msg = await self.broker.middleware_chain.pre_execute(taskiq_msg)
        result = await self.run_task(task, taskiq_msg)
        await self.broker.middleware_chain.post_execute(taskiq_msg, result)
        await self.broker.result_backend.set_result(taskiq_msg.task_id, result)
        await self.broker.middleware_chain.post_save(taskiq_msg, result)
        await _settle(message)

    async def run_task(
        self,
        task: AsyncTaskiqDecoratedTask[Any, Any],
        message: TaskiqMessage,
    ) -> TaskiqResult[Any]:
        """Run the task function with its dependencies; capture its value or error."""
        graph = self._graph_for(task)
        context = Context(message, self.broker)
        cache = {Context: context, TaskiqState: self.broker.state, AsyncBroker: self.broker}
        cache.update(self.broker.custom_dependency_context)
        start = time.perf_counter()
        error: BaseException | None = None
        value: Any = None
        async with graph.async_ctx(
            cache,
            replaced_deps=self.broker.dependency_overrides or None,
            exception_propagation=self.propagate_exceptions,
        ) as ctx:
            try:
                kwargs = await ctx.resolve_kwargs()
                kwargs.update(message.kwargs)
                value = await self._call(task.original_func, message.args, kwargs)
            except Exception as exc:
                error = exc
        return TaskiqResult(
            is_err=error is not None,
            return_value=value,
            execution_time=time.perf_counter() - start,
            labels=message.labels,
            error=error,
        )

    async def _call(self, func: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if inspect.iscoroutinefunction(func):
            return await func(*args, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: func(*args, **kwargs))

    def _graph_for(self, task: AsyncTaskiqDecoratedTask[Any, Any]) -> DependencyGraph:
        graph = self._graphs.get(task.task_name)
        if graph is None:
            graph = DependencyGraph(task.original_func)
            self._graphs[task.task_name] = graph
        return graph

    async def listen(self, finish_event: asyncio.Event) -> None:
        """Consume ``broker.listen()`` until ``finish_event`` is set or the stream ends."""
        tasks: set[asyncio.Task[None]] = set()
        async for message in self.broker.listen():
            task = asyncio.create_task(self.callback(message))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if finish_event.is_set():
                break
        if tasks:
            await asyncio.wait(tasks)


async def _settle(message: bytes | AckableMessage, reject: bool = False) -> None:
    if not isinstance(message, AckableMessage):
        return
    callback = message.reject if reject and message.reject is not None else message.ack
    outcome = callback()
    if outcome is not None:
        await outcome
