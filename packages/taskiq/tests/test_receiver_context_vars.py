"""Sync tasks see the context variables set around them, like async tasks do."""

from __future__ import annotations

import contextvars
from typing import Any

from taskiq import InMemoryBroker, TaskiqMessage, TaskiqMiddleware

current_request: contextvars.ContextVar[str] = contextvars.ContextVar("current_request")


class SetsRequestId(TaskiqMiddleware):
    """Sets a context variable before the task runs, as tracing middlewares do."""

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        current_request.set(f"request-{message.task_id}")
        return message


async def test_sync_task_in_thread_pool_sees_context_set_by_pre_execute() -> None:
    broker = InMemoryBroker().with_middlewares(SetsRequestId())

    @broker.task
    def read_request_id() -> Any:
        return current_request.get("unset")

    await broker.startup()
    task = await read_request_id.kicker().with_task_id("abc").kiq()
    result = await task.wait_result(timeout=10)
    await broker.shutdown()
    assert result.return_value == "request-abc"
