"""Storing a `ScheduledTask` as bytes, and reading it back without trusting the bytes."""

from __future__ import annotations

import logging

from taskiq.abc.serializer import TaskiqSerializer
from taskiq.scheduler.scheduled_task import ScheduledTask

logger = logging.getLogger("taskiq_sqlite.schedules")


def encode_schedule(serializer: TaskiqSerializer, schedule: ScheduledTask) -> bytes:
    """The stored form: the schedule's JSON-compatible dump, serialized."""
    return serializer.dumpb(schedule.model_dump(mode="json"))


def decode_schedules(
    serializer: TaskiqSerializer, stored: list[tuple[str, bytes | None]]
) -> list[ScheduledTask]:
    """Decode ``(schedule id, bytes)`` pairs; a broken one is logged and skipped."""
    schedules: list[ScheduledTask] = []
    for schedule_id, raw in stored:
        if raw is None:
            continue
        try:
            schedules.append(ScheduledTask.model_validate(serializer.loadb(raw)))
        except Exception as exc:  # one bad entry must never stop the scheduler
            logger.error("Skipping unreadable schedule %s: %s", schedule_id, exc)
    return schedules
