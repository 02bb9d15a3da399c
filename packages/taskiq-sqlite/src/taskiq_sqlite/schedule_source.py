"""`SQLiteScheduleSource`: schedules in the SQLite file, added and deleted at run time.

One row per schedule id in ``taskiq_schedules``; `get_schedules` is one read
however many there are; a one-off (``time``) schedule is deleted once it fired.
"""

from __future__ import annotations

import sqlite3
from functools import partial

from taskiq.abc.schedule_source import ScheduleSource
from taskiq.abc.serializer import TaskiqSerializer
from taskiq.exceptions import ScheduleError
from taskiq.scheduler.scheduled_task import ScheduledTask
from taskiq.serializers import JSONSerializer

from taskiq_sqlite.database import Database, shared
from taskiq_sqlite.paths import checked_path
from taskiq_sqlite.schedule_codec import decode_schedules, encode_schedule


class SQLiteScheduleSource(ScheduleSource):
    """A read-write schedule source in the SQLite file ``path``."""

    def __init__(
        self,
        path: str = "tasks.db",
        serializer: TaskiqSerializer | None = None,
        *,
        busy_timeout: float = 10.0,
    ) -> None:
        self.path = checked_path(path)
        self.serializer = serializer or JSONSerializer()
        self.database: Database = shared(self.path, busy_timeout)
        self._opened = False

    async def startup(self) -> None:
        """Open the file (creating the tables if missing)."""
        if not self._opened:
            await self.database.open()
            self._opened = True

    async def shutdown(self) -> None:
        """Close the file when nobody else in this process uses it."""
        if self._opened:
            self._opened = False
            await self.database.close()

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        """Store (or replace) ``schedule`` under its id."""
        payload = encode_schedule(self.serializer, schedule)
        await self._write(
            schedule.schedule_id, partial(_put, key=schedule.schedule_id, payload=payload)
        )

    async def delete_schedule(self, schedule_id: str) -> None:
        """Remove a schedule; an unknown id is not an error."""
        await self._write(schedule_id, partial(_delete, key=schedule_id))

    async def get_schedules(self) -> list[ScheduledTask]:
        """Every stored schedule; an unreadable one is logged and skipped."""
        try:
            rows = await self.database.read(_all)
        except sqlite3.Error as exc:
            raise ScheduleError(f"Cannot read the schedules in {self.path}: {exc}") from exc
        return decode_schedules(self.serializer, rows)

    async def post_send(self, task: ScheduledTask) -> None:
        """A one-off schedule is deleted once it has fired."""
        if task.time is not None:
            await self.delete_schedule(task.schedule_id)

    async def _write(self, schedule_id: str, operation: partial[None]) -> None:
        try:
            await self.database.write(operation)
        except sqlite3.Error as exc:
            raise ScheduleError(
                f"Cannot write schedule {schedule_id!r} to {self.path}: {exc}"
            ) from exc


def _put(conn: sqlite3.Connection, key: str, payload: bytes) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO taskiq_schedules (schedule_id, schedule) VALUES (?, ?)",
        (key, payload),
    )


def _delete(conn: sqlite3.Connection, key: str) -> None:
    conn.execute("DELETE FROM taskiq_schedules WHERE schedule_id = ?", (key,))


def _all(conn: sqlite3.Connection) -> list[tuple[str, bytes | None]]:
    rows = conn.execute("SELECT schedule_id, schedule FROM taskiq_schedules ORDER BY schedule_id")
    return [(str(key), bytes(value)) for key, value in rows]
