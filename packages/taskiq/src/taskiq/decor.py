"""The object ``@broker.task`` returns: call it to run locally, ``kiq`` to send."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from functools import update_wrapper
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from typing_extensions import ParamSpec

from taskiq.kicker import AsyncKicker
from taskiq.task import AsyncTaskiqTask

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.broker import AsyncBroker

_FuncParams = ParamSpec("_FuncParams")
_ReturnType = TypeVar("_ReturnType")
_T = TypeVar("_T")


class AsyncTaskiqDecoratedTask(Generic[_FuncParams, _ReturnType]):
    """A registered task.

    Calling it runs the original function in this process (``await task(...)``
    for async functions); ``kiq`` sends it to a worker; ``kicker()`` gives an
    `AsyncKicker` for per-call labels, ids, brokers and schedules.
    """

    def __init__(
        self,
        broker: AsyncBroker,
        task_name: str,
        original_func: Callable[_FuncParams, _ReturnType],
        labels: dict[str, Any],
    ) -> None:
        self.broker = broker
        self.task_name = task_name
        self.original_func = original_func
        self.labels = labels
        self.signature = inspect.signature(original_func)
        update_wrapper(self, original_func)

    def __call__(
        self,
        *args: _FuncParams.args,
        **kwargs: _FuncParams.kwargs,
    ) -> _ReturnType:
        """Run the function here, without a broker."""
        return self.original_func(*args, **kwargs)

    def kicker(self) -> AsyncKicker[_FuncParams, _ReturnType]:
        """Return a kicker to customise one call before sending it."""
        return AsyncKicker(
            task_name=self.task_name,
            broker=self.broker,
            labels=self.labels,
            signature=self.signature,
        )

    @overload
    async def kiq(
        self: AsyncTaskiqDecoratedTask[_FuncParams, Coroutine[Any, Any, _T]],
        *args: _FuncParams.args,
        **kwargs: _FuncParams.kwargs,
    ) -> AsyncTaskiqTask[_T]: ...

    @overload
    async def kiq(
        self: AsyncTaskiqDecoratedTask[_FuncParams, _ReturnType],
        *args: _FuncParams.args,
        **kwargs: _FuncParams.kwargs,
    ) -> AsyncTaskiqTask[_ReturnType]: ...

    async def kiq(self, *args: Any, **kwargs: Any) -> Any:
        """Send the task to a worker and return a handle on its result."""
        return await self.kicker().kiq(*args, **kwargs)

    def __repr__(self) -> str:
        return f"AsyncTaskiqDecoratedTask({self.task_name!r})"
