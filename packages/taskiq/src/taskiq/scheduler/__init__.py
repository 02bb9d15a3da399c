"""The scheduler: reads schedule sources and sends tasks when they are due.

Import paths kept from Taskiq: ``taskiq.scheduler.TaskiqScheduler``,
``taskiq.scheduler.scheduler.TaskiqScheduler``,
``taskiq.scheduler.merge_functions`` and
``taskiq.scheduler.created_schedule.CreatedSchedule``.
"""

from taskiq.scheduler.created_schedule import CreatedSchedule
from taskiq.scheduler.merge_functions import only_unique, preserve_all
from taskiq.scheduler.scheduled_task import CronSpec, ScheduledTask
from taskiq.scheduler.scheduler import TaskiqScheduler

__all__ = [
    "CreatedSchedule",
    "CronSpec",
    "ScheduledTask",
    "TaskiqScheduler",
    "only_unique",
    "preserve_all",
]
