"""Observers of the scheduler: monitoring, tracing, syncing schedules to an admin panel.

A plugin sees what the scheduler does but cannot change it: errors of
`on_schedules_updated`, `pre_send` and `post_send` are logged and swallowed so a
broken plugin never stops a schedule from firing. `startup` errors propagate,
so a plugin that cannot start fails the scheduler's boot instead of silently
observing nothing. Every hook may be a plain function or a coroutine function.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.schedule_source import ScheduleSource
    from taskiq.scheduler.scheduled_task import ScheduledTask
    from taskiq.scheduler.scheduler import TaskiqScheduler

#: What a hook may return: nothing (plain function) or an awaitable of nothing.
HookResult = Awaitable[None] | None


class SchedulerPlugin:
    """Subclass and override the hooks you need; ``self.scheduler`` is set for you."""

    def __init__(self) -> None:
        # Set by `TaskiqScheduler` before any hook runs; typed as set so hooks
        # can use ``self.scheduler.broker`` without a None check (as in Taskiq).
        self.scheduler: TaskiqScheduler = None  # type: ignore[assignment]

    def set_scheduler(self, scheduler: TaskiqScheduler) -> None:
        """Give the plugin its scheduler (broker and sources); `TaskiqScheduler` calls it."""
        self.scheduler = scheduler

    def startup(self) -> HookResult:
        """Run after the sources and the broker started."""
        return None

    def shutdown(self) -> HookResult:
        """Run before the broker and the sources stop."""
        return None

    def on_schedules_updated(
        self,
        source: ScheduleSource,
        schedules: list[ScheduledTask],
    ) -> HookResult:
        """Run after each read of ``source`` with everything it returned."""
        return None

    def pre_send(self, source: ScheduleSource, task: ScheduledTask) -> HookResult:
        """Run right before ``task`` is sent (not when the source cancelled it)."""
        return None

    def post_send(self, source: ScheduleSource, task: ScheduledTask) -> HookResult:
        """Run right after ``task`` was sent."""
        return None
