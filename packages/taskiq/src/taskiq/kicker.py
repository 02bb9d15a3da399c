"""Builds and sends one task call: labels, id and broker can be changed per call."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Generic, overload

from pydantic import ValidationError
from typing_extensions import ParamSpec, Self, TypeVar

from taskiq.binding import PlainBinder
from taskiq.control import task_options
from taskiq.control.task_states import TaskStatus, TaskTransition, record, utc_now
from taskiq.control.unique_send import claim_unique, release_unique
from taskiq.exceptions import ScheduleError, SendTaskError, UnknownTaskError
from taskiq.message import BrokerMessage, TaskiqMessage
from taskiq.task import AsyncTaskiqTask
from taskiq.time_labels import check_time_labels

if TYPE_CHECKING:  # pragma: no cover
    import datetime

    from taskiq.abc.broker import AsyncBroker
    from taskiq.abc.schedule_source import ScheduleSource
    from taskiq.scheduler.created_schedule import CreatedSchedule
    from taskiq.scheduler.scheduled_task import CronSpec

_FuncParams = ParamSpec("_FuncParams", default=...)
_ReturnType = TypeVar("_ReturnType", default=Any)
_T = TypeVar("_T")

logger = logging.getLogger("taskiq.kicker")

#: Labels that configure a schedule itself and are not sent with each firing.
_NOT_STORED_LABELS = frozenset({"schedule", "cron_offset"})


class AsyncKicker(Generic[_FuncParams, _ReturnType]):
    """Sends a task by name; ``task.kicker()`` returns one bound to a task."""

    def __init__(
        self,
        task_name: str,
        broker: AsyncBroker,
        labels: dict[str, Any],
        return_type: type[_ReturnType] | None = None,
        signature: inspect.Signature | None = None,
        binder: PlainBinder | None = None,
    ) -> None:
        self.task_name = task_name
        self.broker = broker
        self.labels = dict(labels)
        self.custom_task_id: str | None = None
        self.custom_schedule_id: str | None = None
        self.return_type = return_type
        self.signature = signature
        if binder is None and signature is not None:
            binder = PlainBinder(signature)
        self._binder = binder
        self._unique = True

    def with_labels(self, **labels: Any) -> Self:
        """Add or override labels for this call only."""
        self.labels.update(labels)
        return self

    def with_task_id(self, task_id: str) -> Self:
        """Use ``task_id`` instead of a generated one (idempotent producers)."""
        self.custom_task_id = task_id
        return self

    def with_schedule_id(self, schedule_id: str) -> Self:
        """Use ``schedule_id`` when this call is scheduled with ``schedule_by_*``."""
        self.custom_schedule_id = schedule_id
        return self

    def with_unique(self, unique: bool) -> Self:
        """``with_unique(False)`` sends this call even if a unique task with its key is pending."""
        self._unique = unique
        return self

    def with_broker(self, broker: AsyncBroker) -> Self:
        """Send through another broker (for example a shared task's real broker).

        A task ``broker`` does not know yet is registered on it, so a broker
        that runs tasks itself (`InMemoryBroker`) can run it, as Taskiq's
        architecture guide shows with two in-memory brokers.
        """
        task = self.broker.find_task(self.task_name)
        if task is not None and broker.find_task(self.task_name) is None:
            broker.local_task_registry[self.task_name] = task
        self.broker = broker
        return self

    @overload
    async def kiq(
        self: AsyncKicker[_FuncParams, Coroutine[Any, Any, _T]],
        *args: _FuncParams.args,
        **kwargs: _FuncParams.kwargs,
    ) -> AsyncTaskiqTask[_T]: ...

    @overload
    async def kiq(
        self: AsyncKicker[_FuncParams, _ReturnType],
        *args: _FuncParams.args,
        **kwargs: _FuncParams.kwargs,
    ) -> AsyncTaskiqTask[_ReturnType]: ...

    async def kiq(self, *args: Any, **kwargs: Any) -> Any:
        """Send the task with these arguments and return a handle on its result.

        Raises `SendTaskError` when nothing was sent: the arguments do not bind
        to the task's signature, a ``delay`` or ``timeout`` label is out of
        bounds (see `taskiq.time_labels`), one of them cannot be serialized (the error
        names it), or the broker refused the message (chained ``from`` the
        broker's own error). `UnknownTaskError` from a broker passes through.
        """
        message = self._prepare_message(*args, **kwargs)
        broker = self.broker
        first = await claim_unique(broker, message)
        if first is not None:  # the same unique call is pending: nothing is sent
            return AsyncTaskiqTask(first, result_backend=broker.result_backend)
        try:
            return await self._send(message)
        except BaseException:
            await release_unique(broker, message)
            raise

    async def _send(self, message: TaskiqMessage) -> AsyncTaskiqTask[Any]:
        broker = self.broker
        if broker.middleware_chain.has("pre_send"):
            message = await broker.middleware_chain.pre_send(message)
        queued = TaskTransition(status=TaskStatus.QUEUED, time=utc_now())  # as it is sent
        await self._kick(self._format(message))
        if broker.record_task_states:
            await record(broker, message.task_id, queued)
        if broker.middleware_chain.has("post_send"):
            await broker.middleware_chain.post_send(message)
        return AsyncTaskiqTask(message.task_id, result_backend=broker.result_backend)

    async def _kick(self, broker_message: BrokerMessage) -> None:
        try:
            await self.broker.kick(broker_message)
        except (SendTaskError, UnknownTaskError):
            raise
        except Exception as exc:
            raise SendTaskError(
                f"The broker refused task {self.task_name!r} ({exc!r}); nothing was sent. "
                "Check that the broker is started and its service is reachable.",
                reason=repr(exc),
            ) from exc

    def _prepare_message(self, *args: Any, **kwargs: Any) -> TaskiqMessage:
        labels = self.labels
        if "delay" in labels or "timeout" in labels:
            check_time_labels(labels)
        binder = self._binder
        if self.signature is not None and (binder is None or not binder.fits(args, kwargs)):
            try:
                self.signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise SendTaskError(
                    f"Arguments do not match task {self.task_name!r}{self.signature}: {exc}. "
                    "Pass the arguments the task function accepts.",
                    reason=str(exc),
                ) from exc
        return TaskiqMessage(
            task_id=self.custom_task_id or self.broker.id_generator(),
            task_name=self.task_name,
            labels=task_options.resolve_labels(
                self.task_name, labels, self.signature, args, kwargs, unique=self._unique
            ),
            args=list(args),
            kwargs=kwargs,
        )

    def _format(self, message: TaskiqMessage) -> BrokerMessage:
        try:
            return self.broker.formatter.dumps(message)
        except Exception as exc:
            culprit = self._find_unserializable(message)
            raise SendTaskError(
                f"Cannot serialize {culprit} of task {self.task_name!r}: {exc}. "
                "Pass values the broker's serializer supports (JSON types and pydantic "
                "models by default) or configure another serializer.",
                reason=str(exc),
                culprit=culprit,
            ) from exc

    def _find_unserializable(self, message: TaskiqMessage) -> str:
        """Name the first argument (or label) that alone fails to serialize."""
        for name, args, kwargs, labels in self._probes(message):
            probe = message.model_copy(update={"args": args, "kwargs": kwargs, "labels": labels})
            try:
                self.broker.formatter.dumps(probe)
            except Exception:
                return name
        return "the arguments"

    def _probes(
        self,
        message: TaskiqMessage,
    ) -> list[tuple[str, list[Any], dict[str, Any], dict[str, Any]]]:
        names = self._positional_names(len(message.args))
        probes: list[tuple[str, list[Any], dict[str, Any], dict[str, Any]]] = [
            (f"argument {names[i]!r}", [value], {}, {}) for i, value in enumerate(message.args)
        ]
        probes += [(f"argument {key!r}", [], {key: v}, {}) for key, v in message.kwargs.items()]
        probes += [(f"label {key!r}", [], {}, {key: v}) for key, v in message.labels.items()]
        return probes

    def _positional_names(self, count: int) -> list[str]:
        names = [f"#{index}" for index in range(count)]
        if self.signature is None:
            return names
        positional = [
            param.name
            for param in self.signature.parameters.values()
            if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD)
        ]
        return [positional[i] if i < len(positional) else names[i] for i in range(count)]

    # -- scheduling --------------------------------------------------------
    # Added by the scheduler: each method stores a `ScheduledTask` in ``source``
    # (a source that can store, such as RedisScheduleSource) and returns a
    # `CreatedSchedule`. The scheduler process's broker sends it, not this one.

    async def schedule_by_cron(
        self,
        source: ScheduleSource,
        cron: str | CronSpec,
        *args: _FuncParams.args,
        **kwargs: _FuncParams.kwargs,
    ) -> CreatedSchedule[_ReturnType]:
        """Send this call every time ``cron`` matches, until unscheduled.

        ``cron`` is a five-field expression or a `CronSpec`. It is read in the
        zone of the spec's ``offset``, else of a ``cron_offset`` label (zone name
        or ``timedelta``), else UTC. A bad expression or zone raises
        `ScheduleError` here, before anything is stored.
        """
        from taskiq.scheduler.scheduled_task import CronSpec

        offset = self.labels.get("cron_offset")
        if isinstance(cron, CronSpec):
            offset = cron.offset if cron.offset is not None else offset
            cron = cron.to_cron()
        return await self._store_schedule(source, args, kwargs, cron=cron, cron_offset=offset)

    async def schedule_by_time(
        self,
        source: ScheduleSource,
        time: datetime.datetime,
        *args: _FuncParams.args,
        **kwargs: _FuncParams.kwargs,
    ) -> CreatedSchedule[_ReturnType]:
        """Send this call once at ``time`` (a naive datetime is UTC)."""
        return await self._store_schedule(source, args, kwargs, time=time)

    async def schedule_by_interval(
        self,
        source: ScheduleSource,
        interval: int | float | datetime.timedelta,
        *args: _FuncParams.args,
        **kwargs: _FuncParams.kwargs,
    ) -> CreatedSchedule[_ReturnType]:
        """Send this call every ``interval`` (seconds or a ``timedelta``), until unscheduled."""
        return await self._store_schedule(source, args, kwargs, interval=interval)

    async def _store_schedule(
        self,
        source: ScheduleSource,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        **trigger: Any,
    ) -> CreatedSchedule[_ReturnType]:
        from taskiq.scheduler.created_schedule import CreatedSchedule
        from taskiq.scheduler.next_fire import fire_after, utc_now
        from taskiq.scheduler.scheduled_task import ScheduledTask

        message = self._prepare_message(*args, **kwargs)
        try:
            schedule = ScheduledTask(
                task_name=self.task_name,
                labels={k: v for k, v in message.labels.items() if k not in _NOT_STORED_LABELS},
                args=message.args,
                kwargs=message.kwargs,
                schedule_id=self.custom_schedule_id or self.broker.id_generator(),
                task_id=self.custom_task_id,
                **trigger,
            )
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise ScheduleError(problem) from exc
        now = utc_now()
        fire_after(schedule, now)  # raises ScheduleError for a bad cron, zone or interval
        await source.add_schedule(schedule)
        return CreatedSchedule(self, source, schedule)

    def __repr__(self) -> str:
        return f"AsyncKicker({self.task_name!r}, labels={self.labels!r})"
