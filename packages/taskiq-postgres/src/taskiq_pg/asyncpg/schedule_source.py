"""`AsyncpgScheduleSource`: schedules kept in a PostgreSQL table, one JSON row each.

A row that no longer decodes (edited by hand, written by another version) is
skipped with one WARNING naming it, so one bad schedule does not stop the others.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from pydantic import ValidationError
from taskiq.abc.broker import AsyncBroker
from taskiq.abc.schedule_source import ScheduleSource
from taskiq.scheduler.scheduled_task import ScheduledTask

from taskiq_pg.schema import checked_name

logger = logging.getLogger("taskiq_pg")
DEFAULT_DSN = "postgresql://postgres:postgres@localhost:5432/postgres"


class AsyncpgScheduleSource(ScheduleSource):
    """Schedules in ``table_name``; `add_schedule` and `delete_schedule` change them at once."""

    def __init__(
        self,
        broker: AsyncBroker,
        dsn: str = DEFAULT_DSN,
        table_name: str = "taskiq_schedules",
        **connect_kwargs: Any,
    ) -> None:
        self.broker = broker
        self.dsn = dsn
        self.table = checked_name(table_name, "table_name")
        self._connect_kwargs = connect_kwargs
        self._pool: Any = None

    async def startup(self) -> None:
        self._pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=2, **self._connect_kwargs
        )
        await self._pool.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} "
            "(id text PRIMARY KEY, task_name text NOT NULL, schedule jsonb NOT NULL)"
        )

    async def shutdown(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def get_schedules(self) -> list[ScheduledTask]:
        rows = await self._pool.fetch(f"SELECT id, schedule FROM {self.table} ORDER BY id")
        schedules = []
        for row in rows:
            try:
                schedules.append(ScheduledTask.model_validate_json(row["schedule"]))
            except ValidationError as exc:
                logger.warning("Skipping schedule %r of %s: %s", row["id"], self.table, exc)
        return schedules

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        await self._pool.execute(
            f"INSERT INTO {self.table} (id, task_name, schedule) VALUES ($1, $2, $3) "
            "ON CONFLICT (id) DO UPDATE SET task_name = EXCLUDED.task_name, "
            "schedule = EXCLUDED.schedule",
            schedule.schedule_id,
            schedule.task_name,
            schedule.model_dump_json(),
        )

    async def delete_schedule(self, schedule_id: str) -> None:
        await self._pool.execute(f"DELETE FROM {self.table} WHERE id = $1", schedule_id)

    async def post_send(self, task: ScheduledTask) -> None:
        """A one-off schedule (``time``) is deleted once sent."""
        if task.time is not None:
            await self.delete_schedule(task.schedule_id)
