"""Schedules declared on the tasks themselves: ``@broker.task(schedule=[...])``.

Each entry of the ``schedule`` label is a dict with exactly one of ``cron``,
``time`` or ``interval`` and optionally ``cron_offset``, ``args``, ``kwargs``,
``labels`` and ``schedule_id``. The entry's ``labels`` are sent with the task's
other labels, and the task's own labels win where both set a key, as in Taskiq.
An entry without ``schedule_id`` gets one derived from the task name and its
position, so it is the same in every process and after every restart.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from taskiq.abc.schedule_source import ScheduleSource
from taskiq.scheduler.scheduled_task import ScheduledTask

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.broker import AsyncBroker
    from taskiq.decor import AsyncTaskiqDecoratedTask

logger = logging.getLogger("taskiq.schedule_sources")

_ID_NAMESPACE = uuid.UUID("6f1d2c4e-3b7a-4f8e-9c5d-2a1b0e9f8d7c")
_ENTRY_FIELDS = (
    "cron",
    "cron_offset",
    "time",
    "interval",
    "args",
    "kwargs",
    "schedule_id",
    "overlap",
    "catchup",
    "catchup_window",
    "paused",
)


class LabelScheduleSource(ScheduleSource):
    """Reads the ``schedule`` label of every task of ``broker`` (read-only).

    Tasks are read on every `get_schedules` call, so modules imported after
    startup are picked up. A one-off ``time`` entry is dropped once it fired
    (until the process restarts: a restarted scheduler sends an overdue one-off
    entry again, so prefer a storing source for one-off jobs that must run once).
    A malformed entry is logged once and skipped.
    """

    def __init__(self, broker: AsyncBroker) -> None:
        self.broker = broker
        self._fired: set[str] = set()
        self._reported: set[str] = set()

    async def get_schedules(self) -> list[ScheduledTask]:
        """Every valid, not yet fired entry of every task's ``schedule`` label."""
        schedules: list[ScheduledTask] = []
        for task_name, task in self.broker.get_all_tasks().items():
            schedules.extend(self._task_schedules(task_name, task))
        return [s for s in schedules if s.schedule_id not in self._fired]

    async def post_send(self, task: ScheduledTask) -> None:
        """Forget a one-off ``time`` entry once it fired."""
        if task.time is not None:
            self._fired.add(task.schedule_id)

    def _task_schedules(
        self,
        task_name: str,
        task: AsyncTaskiqDecoratedTask[Any, Any],
    ) -> list[ScheduledTask]:
        entries = task.labels.get("schedule")
        if entries is None:
            return []
        if isinstance(entries, Mapping):
            entries = [entries]
        if not isinstance(entries, (list, tuple)):
            self._report(task_name, f"the schedule label must be a list of dicts, got {entries!r}")
            return []
        base_labels = {k: v for k, v in task.labels.items() if k != "schedule"}
        parsed = (self._parse(task_name, i, e, base_labels) for i, e in enumerate(entries))
        return [schedule for schedule in parsed if schedule is not None]

    def _parse(
        self,
        task_name: str,
        index: int,
        entry: Any,
        base_labels: dict[str, Any],
    ) -> ScheduledTask | None:
        if not isinstance(entry, Mapping):
            self._report(f"{task_name}#{index}", f"schedule entry {entry!r} is not a dict")
            return None
        fields = {k: entry[k] for k in _ENTRY_FIELDS if entry.get(k) is not None}
        fields.setdefault("schedule_id", _default_id(task_name, index))
        try:
            labels = {**(entry.get("labels") or {}), **base_labels}
            return ScheduledTask(task_name=task_name, labels=labels, **fields)
        except (ValidationError, TypeError) as exc:
            self._report(f"{task_name}#{index}", f"schedule entry {dict(entry)!r}: {exc}")
            return None

    def _report(self, where: str, problem: str) -> None:
        if where in self._reported:
            return
        self._reported.add(where)
        logger.error("Skipping a schedule of task %s: %s", where, problem)

    def __repr__(self) -> str:
        return f"LabelScheduleSource({self.broker!r})"


def _default_id(task_name: str, index: int) -> str:
    """The same id for the same entry in every process."""
    return uuid.uuid5(_ID_NAMESPACE, f"{task_name}#{index}").hex
