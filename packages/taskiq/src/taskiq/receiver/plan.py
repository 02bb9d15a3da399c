"""What the receiver works out once per task and reuses for every message of it."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from taskiq_dependencies import DependencyGraph

from taskiq.receiver.params import TaskParameters

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.decor import AsyncTaskiqDecoratedTask


class TaskPlan:
    """The dependency graph, parameter adapters and calling convention of one task.

    ``overrides`` is the snapshot of ``broker.dependency_overrides`` the graph
    was built with; the receiver rebuilds the plan when the overrides change.
    """

    def __init__(
        self,
        task: AsyncTaskiqDecoratedTask[Any, Any],
        cast_types: bool,
        overrides: dict[Any, Any],
    ) -> None:
        func = task.original_func
        self.task = task
        self.cast_types = cast_types
        self.overrides = dict(overrides)
        self.graph = DependencyGraph(func, replaced_deps=self.overrides or None)
        self.parameters = TaskParameters(func, cast_types)
        self.is_async = _is_async(func)
        # Sync tasks go to the executor as the task object: it pickles by reference.
        self.target: Callable[..., Any] = func if self.is_async else task

    def is_current(
        self,
        task: AsyncTaskiqDecoratedTask[Any, Any],
        overrides: Any,
        cast_types: bool,
    ) -> bool:
        """Tell whether this plan still describes ``task`` under these settings."""
        return self.task is task and self.cast_types == cast_types and self.overrides == overrides


def _is_async(func: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(func):
        return True
    call = getattr(type(func), "__call__", None)  # noqa: B004 - async callable objects
    return not inspect.isfunction(func) and inspect.iscoroutinefunction(call)
