"""The run step: one task call with its dependencies, cast arguments and timeout.

`TaskRunner.run` never raises for what the task does: a value or an error,
both end up in the `TaskiqResult` it returns.
"""

from __future__ import annotations

import time
from collections.abc import Coroutine
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from taskiq.abc.broker import AsyncBroker
from taskiq.context import Acknowledger, Context
from taskiq.receiver import running
from taskiq.receiver.call import call_task, timeout_from_labels
from taskiq.receiver.plan import TaskPlan
from taskiq.result import TaskiqResult
from taskiq.state import TaskiqState

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.decor import AsyncTaskiqDecoratedTask
    from taskiq.message import TaskiqMessage


class TaskRunner:
    """Runs tasks of one broker, keeping a `TaskPlan` per task between messages."""

    def __init__(self, broker: AsyncBroker, propagate_exceptions: bool) -> None:
        self.broker = broker
        self.propagate_exceptions = propagate_exceptions
        self._plans: dict[str, TaskPlan] = {}

    async def run(
        self,
        task: AsyncTaskiqDecoratedTask[Any, Any],
        message: TaskiqMessage,
        *,
        executor: Executor | None,
        cast_types: bool,
        delivery: Acknowledger | None = None,
    ) -> TaskiqResult[Any]:
        """Run the task with its dependencies and cast arguments; capture value or error."""
        start = time.perf_counter()
        timeout = timeout_from_labels(message.labels, message.task_name)
        token = running.started(message.task_name, message.task_id, task.original_func, timeout)
        try:
            plan = self._plan_for(task, cast_types)
            value = await self._call(plan, message, delivery, executor, timeout)
        except (Exception, SystemExit) as exc:  # sys.exit() in a task must not stop the worker
            running.failed(token)
            return failed_result(message, exc, time.perf_counter() - start)
        finally:
            running.finished(token)
        return TaskiqResult(
            is_err=False,
            return_value=value,
            execution_time=time.perf_counter() - start,
            labels=message.labels,
        )

    async def _call(
        self,
        plan: TaskPlan,
        message: TaskiqMessage,
        delivery: Acknowledger | None,
        executor: Executor | None,
        timeout: float | None,
    ) -> Any:
        args, kwargs = plan.parameters.bind(message.task_name, message.args, message.kwargs)
        if plan.graph.is_empty():  # no dependencies: skip the injector (and the Context)
            return await _invoke(plan, message, args, kwargs, executor, timeout)
        async with plan.graph.async_ctx(
            self._dependency_cache(Context(message, self.broker, delivery)),
            exception_propagation=self.propagate_exceptions,
        ) as resolver:
            injected = await resolver.resolve_kwargs()
            return await _invoke(plan, message, args, {**injected, **kwargs}, executor, timeout)

    def _dependency_cache(self, context: Context) -> dict[Any, Any]:
        broker = self.broker
        cache: dict[Any, Any] = {
            Context: context,
            TaskiqState: broker.state,
            AsyncBroker: broker,
            type(broker): broker,
        }
        cache.update(broker.custom_dependency_context)
        return cache

    def is_async(self, task: AsyncTaskiqDecoratedTask[Any, Any], cast_types: bool) -> bool:
        """Whether ``task`` runs on the event loop (else in the executor)."""
        return self._plan_for(task, cast_types).is_async

    def _plan_for(self, task: AsyncTaskiqDecoratedTask[Any, Any], cast_types: bool) -> TaskPlan:
        plan = self._plans.get(task.task_name)
        overrides = self.broker.dependency_overrides
        if plan is None or not plan.is_current(task, overrides, cast_types):
            plan = TaskPlan(task, cast_types, overrides)
            self._plans[task.task_name] = plan
        return plan


def _invoke(
    plan: TaskPlan,
    message: TaskiqMessage,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    executor: Executor | None,
    timeout: float | None,
) -> Coroutine[Any, Any, Any]:
    """The call as a coroutine to await (a plain function: one coroutine less per task)."""
    return call_task(
        plan.target,
        args,
        kwargs,
        is_async=plan.is_async,
        executor=executor,
        timeout=timeout,
        task_name=message.task_name,
    )


def failed_result(
    message: TaskiqMessage,
    error: BaseException,
    execution_time: float = 0.0,
) -> TaskiqResult[Any]:
    """The result of a run that did not produce a value."""
    return TaskiqResult(
        is_err=True,
        return_value=None,
        execution_time=execution_time,
        labels=message.labels,
        error=error,
    )
