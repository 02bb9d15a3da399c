"""The scheduler: reads schedule sources and sends tasks when they are due."""

from taskiq.scheduler.scheduled_task import ScheduledTask

__all__ = ["ScheduledTask"]
