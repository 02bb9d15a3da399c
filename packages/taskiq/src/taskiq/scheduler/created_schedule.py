"""What ``schedule_by_cron`` / ``schedule_by_time`` / ``schedule_by_interval`` return."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.schedule_source import ScheduleSource
    from taskiq.kicker import AsyncKicker
    from taskiq.scheduler.scheduled_task import ScheduledTask
    from taskiq.task import AsyncTaskiqTask

_ReturnType = TypeVar("_ReturnType")


class CreatedSchedule(Generic[_ReturnType]):
    """A schedule stored in ``source``: its id, and a handle to remove it."""

    def __init__(
        self,
        kicker: AsyncKicker[Any, _ReturnType],
        source: ScheduleSource,
        task: ScheduledTask,
    ) -> None:
        self.kicker = kicker
        self.source = source
        self.task = task
        self.schedule_id = task.schedule_id

    async def unschedule(self) -> None:
        """Delete the schedule from its source; it will not fire again."""
        await self.source.delete_schedule(self.schedule_id)

    async def kiq(self) -> AsyncTaskiqTask[Any]:
        """Send the scheduled call once, right now, without touching the schedule."""
        task: AsyncTaskiqTask[Any] = await self.kicker.kiq(*self.task.args, **self.task.kwargs)
        return task

    def __repr__(self) -> str:
        return f"CreatedSchedule(schedule_id={self.schedule_id!r}, task={self.task.task_name!r})"
