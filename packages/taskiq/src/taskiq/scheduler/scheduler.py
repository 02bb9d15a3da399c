"""`TaskiqScheduler`: which broker scheduled tasks go to, and where schedules come from.

The scheduler only *sends* tasks; workers run them. Any number of scheduler
processes may run the same sources: each fire is claimed before it is sent
(`taskiq.scheduler.fires`), so it goes out once.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from taskiq.exceptions import ScheduledTaskCancelledError
from taskiq.kicker import AsyncKicker
from taskiq.scheduler.merge_functions import preserve_all
from taskiq.scheduler.scheduled_task import ScheduledTask

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.broker import AsyncBroker
    from taskiq.abc.schedule_source import ScheduleSource
    from taskiq.abc.scheduler_plugin import SchedulerPlugin

logger = logging.getLogger("taskiq.scheduler")

MergeFunction = Callable[[list[ScheduledTask], list[ScheduledTask]], list[ScheduledTask]]

#: Seconds between two reads of the sources, unless told otherwise.
DEFAULT_UPDATE_INTERVAL = 1.0


class TaskiqScheduler:
    """Sends the tasks of ``sources`` to ``broker`` when their schedules are due.

    ``merge_func`` combines the schedules of several sources (see
    `taskiq.scheduler.merge_functions`); ``refresh_delay`` is how many seconds
    pass between two reads of the sources when the runner is not told otherwise
    (``taskiq scheduler --update-interval``). Between reads the scheduler sleeps
    until the next fire time, it does not poll. ``plugins`` observe startup,
    shutdown, each read of a source and each send (`SchedulerPlugin`).
    """

    def __init__(
        self,
        broker: AsyncBroker,
        sources: list[ScheduleSource],
        merge_func: MergeFunction = preserve_all,
        refresh_delay: float = DEFAULT_UPDATE_INTERVAL,
        plugins: list[SchedulerPlugin] | None = None,
    ) -> None:
        if not refresh_delay > 0:
            raise ValueError(
                f"refresh_delay must be a number of seconds > 0, got {refresh_delay!r}."
            )
        self.broker = broker
        self.sources = list(sources)
        self.merge_func = merge_func
        self.refresh_delay = refresh_delay
        self._started_sources: list[ScheduleSource] = []
        self._broker_started = False
        self.plugins = list(plugins or [])
        for plugin in self.plugins:
            plugin.set_scheduler(self)

    @property
    def is_started(self) -> bool:
        """Whether `startup` ran (and `shutdown` did not yet)."""
        return self._broker_started

    async def startup(self) -> None:
        """Start every source, the broker, then the plugins; a failure is raised. Idempotent."""
        if self._broker_started:
            return
        await self.start_sources()
        await self.broker.startup()
        self._broker_started = True
        for plugin in self.plugins:
            await _maybe_await(plugin.startup())

    async def shutdown(self) -> None:
        """Stop the broker and the sources `startup` started; errors are logged."""
        if self._broker_started:
            self._broker_started = False
            await self._notify_plugins("shutdown")
            try:
                await self.broker.shutdown()
            except Exception:
                logger.exception("The broker failed to shut down cleanly.")
        await self.stop_sources()

    async def start_sources(self) -> list[ScheduleSource]:
        """Start the sources that are not started yet; return those it started."""
        started: list[ScheduleSource] = []
        for source in self.sources:
            if not any(source is running for running in self._started_sources):
                await source.startup()
                self._started_sources.append(source)
                started.append(source)
        return started

    async def stop_sources(self, sources: list[ScheduleSource] | None = None) -> None:
        """Stop started sources (all, or those given), newest first.

        One source failing to stop is logged and does not stop the others.
        """
        for source in reversed(list(self._started_sources)):
            if sources is not None and not any(source is s for s in sources):
                continue
            self._started_sources.remove(source)
            try:
                await source.shutdown()
            except Exception:
                logger.exception("Schedule source %r failed to shut down cleanly.", source)

    async def on_ready(
        self,
        source: ScheduleSource,
        task: ScheduledTask,
        task_id: str | None = None,
    ) -> bool:
        """Send one firing of ``task``; return False if ``source.pre_send`` vetoed it.

        ``task_id`` (the runner derives it from the fire) wins over ``task.task_id``.

        Errors of the broker or of ``post_send`` are raised to the caller.
        """
        try:
            await _maybe_await(source.pre_send(task))
        except ScheduledTaskCancelledError:
            logger.info(
                "Schedule %s of task %s: the source cancelled this run.",
                task.schedule_id,
                task.task_name,
            )
            return False
        await self._notify_plugins("pre_send", source, task)
        logger.info("Sending task %s (schedule %s).", task.task_name, task.schedule_id)
        kicker: AsyncKicker[..., object] = AsyncKicker(task.task_name, self.broker, task.labels)
        if (task_id or task.task_id) is not None:
            kicker.with_task_id(task_id or task.task_id or "")
        await kicker.kiq(*task.args, **task.kwargs)
        await _maybe_await(source.post_send(task))
        await self._notify_plugins("post_send", source, task)
        return True

    async def schedules_updated(self, source: ScheduleSource, tasks: list[ScheduledTask]) -> None:
        """Tell the plugins what ``source`` returned; the runner calls it after each read."""
        await self._notify_plugins("on_schedules_updated", source, tasks)

    async def _notify_plugins(self, hook: str, *args: Any) -> None:
        """Run ``hook`` of every plugin; a failing plugin is logged, never fatal."""
        for plugin in self.plugins:
            try:
                await _maybe_await(getattr(plugin, hook)(*args))
            except Exception:
                logger.exception("Scheduler plugin %r failed in %s.", plugin, hook)

    def __repr__(self) -> str:
        return f"TaskiqScheduler(broker={self.broker!r}, sources={self.sources!r})"


async def _maybe_await(result: object) -> None:
    """Taskiq accepts sources whose ``pre_send`` / ``post_send`` are plain functions."""
    if inspect.isawaitable(result):
        await result
