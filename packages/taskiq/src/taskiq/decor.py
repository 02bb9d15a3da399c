"""The object ``@broker.task`` returns: call it to run locally, ``kiq`` to send."""

from __future__ import annotations

import importlib
import pickle
from collections.abc import Callable, Coroutine
from functools import update_wrapper
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from typing_extensions import ParamSpec

from taskiq.binding import PlainBinder
from taskiq.depends.signature import call_signature
from taskiq.kicker import AsyncKicker
from taskiq.task import AsyncTaskiqTask

if TYPE_CHECKING:  # pragma: no cover
    import datetime

    from taskiq.abc.broker import AsyncBroker
    from taskiq.abc.schedule_source import ScheduleSource
    from taskiq.scheduler.created_schedule import CreatedSchedule
    from taskiq.scheduler.scheduled_task import CronSpec

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
        return_type: type[_ReturnType] | None = None,
    ) -> None:
        self.broker = broker
        self.task_name = task_name
        self.original_func = original_func
        self.labels = labels
        #: Accepted for compatibility with Taskiq's constructor; typing uses the function.
        self.return_type = return_type
        # Without injected parameters: kiq() checks the caller's arguments against it.
        self.signature = call_signature(original_func)
        self._binder = PlainBinder(self.signature)
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
            binder=self._binder,
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

    async def schedule_by_cron(
        self,
        source: ScheduleSource,
        cron: str | CronSpec,
        *args: _FuncParams.args,
        **kwargs: _FuncParams.kwargs,
    ) -> CreatedSchedule[_ReturnType]:
        """Store a schedule in ``source`` sending this task whenever ``cron`` matches.

        See `AsyncKicker.schedule_by_cron`; use ``task.kicker().with_labels(...)``
        or ``.with_schedule_id(...)`` to customise the stored call.
        """
        return await self.kicker().schedule_by_cron(source, cron, *args, **kwargs)

    async def schedule_by_time(
        self,
        source: ScheduleSource,
        time: datetime.datetime,
        *args: _FuncParams.args,
        **kwargs: _FuncParams.kwargs,
    ) -> CreatedSchedule[_ReturnType]:
        """Store a one-off schedule in ``source`` sending this task at ``time`` (naive = UTC)."""
        return await self.kicker().schedule_by_time(source, time, *args, **kwargs)

    async def schedule_by_interval(
        self,
        source: ScheduleSource,
        interval: int | float | datetime.timedelta,
        *args: _FuncParams.args,
        **kwargs: _FuncParams.kwargs,
    ) -> CreatedSchedule[_ReturnType]:
        """Store a schedule in ``source`` sending this task every ``interval``."""
        return await self.kicker().schedule_by_interval(source, interval, *args, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by reference: the receiving process imports the task's module.

        A process pool gets the task it must run this way instead of a copy
        of the broker. Only tasks bound to a module-level name can be pickled.
        """
        module = self.__module__
        qualname: str = getattr(self, "__qualname__", self.task_name)
        if _find(module, qualname) is not self:
            raise pickle.PicklingError(
                f"Task {self.task_name!r} cannot be pickled: {module}.{qualname} is not "
                "this task. Declare it at module level with @broker.task so that another "
                "process can import it.",
            )
        return (_load_task, (module, qualname))

    def __repr__(self) -> str:
        return f"AsyncTaskiqDecoratedTask({self.task_name!r})"


def _find(module: str, qualname: str) -> Any:
    """Import ``module`` and walk ``qualname``; None when any step is missing."""
    if "<locals>" in qualname:
        return None
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    return target


def _load_task(module: str, qualname: str) -> AsyncTaskiqDecoratedTask[Any, Any]:
    """Unpickle a task: the same object the module declares in this process."""
    task = _find(module, qualname)
    if not isinstance(task, AsyncTaskiqDecoratedTask):
        raise pickle.UnpicklingError(
            f"{module}.{qualname} is not a taskiq task in this process; "
            "run the same code version in every process.",
        )
    return task
