"""How the scheduler combines the schedules of several sources.

A merge function takes the schedules gathered so far and those of the next
source (in the order of ``TaskiqScheduler(sources=[...])``) and returns the
combined list. The scheduler calls it once per source on every read.
"""

from __future__ import annotations

from typing import Any

from taskiq.scheduler.scheduled_task import ScheduledTask


def preserve_all(
    old_tasks: list[ScheduledTask],
    new_tasks: list[ScheduledTask],
) -> list[ScheduledTask]:
    """Keep every schedule of every source, duplicates included."""
    return [*old_tasks, *new_tasks]


def only_unique(
    old_tasks: list[ScheduledTask],
    new_tasks: list[ScheduledTask],
) -> list[ScheduledTask]:
    """Add a schedule only if no earlier source already has it.

    Two schedules are the same if they share a ``schedule_id``, or if they send
    the same task with the same arguments, labels and trigger (so a label
    schedule copied into a database source is sent once, not twice).
    """
    seen_ids = {task.schedule_id for task in old_tasks}
    seen_content = {_content_key(task) for task in old_tasks}
    merged = list(old_tasks)
    for task in new_tasks:
        key = _content_key(task)
        if task.schedule_id in seen_ids or key in seen_content:
            continue
        seen_ids.add(task.schedule_id)
        seen_content.add(key)
        merged.append(task)
    return merged


def _content_key(task: ScheduledTask) -> str:
    content: dict[str, Any] = task.model_dump(mode="json", exclude={"schedule_id"})
    return repr(sorted(content.items()))
