"""Where the scheduler reads schedules from, and where run-time schedules are written."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.scheduler.scheduled_task import ScheduledTask


class ScheduleSource(ABC):
    """A store of `ScheduledTask` entries.

    Read-only sources (labels on tasks) implement only `get_schedules`; sources
    backed by a database also implement `add_schedule` / `delete_schedule` so
    that ``task.schedule_by_time(source, ...)`` works at run time.
    """

    async def startup(self) -> None:
        """Open connections; the scheduler calls it before the first read."""

    async def shutdown(self) -> None:
        """Close connections; the scheduler calls it on exit."""

    @abstractmethod
    async def get_schedules(self) -> list[ScheduledTask]:
        """Return every schedule this source holds."""

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        """Store a new schedule; sources that cannot store raise NotImplementedError."""
        raise NotImplementedError(
            f"{type(self).__name__} is read-only; use a source that stores schedules "
            "(RedisScheduleSource, NATSKeyValueScheduleSource, ...) to add them at run time.",
        )

    async def delete_schedule(self, schedule_id: str) -> None:
        """Remove a schedule; sources that cannot store raise NotImplementedError."""
        raise NotImplementedError(
            f"{type(self).__name__} is read-only and cannot delete schedules.",
        )

    async def pre_send(self, task: ScheduledTask) -> None:
        """Called before a schedule fires; raise `ScheduledTaskCancelledError` to skip it."""

    async def post_send(self, task: ScheduledTask) -> None:
        """Called after a schedule fired (a one-off source deletes it here)."""
