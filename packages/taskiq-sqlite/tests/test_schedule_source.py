"""Schedules in the file: add, list, delete; one-off schedules go once fired."""

from __future__ import annotations

import datetime
import sqlite3

from taskiq.scheduler.scheduled_task import ScheduledTask
from taskiq_sqlite import SQLiteScheduleSource


async def test_schedules_round_trip_and_one_offs_are_deleted(db_file: str) -> None:
    source = SQLiteScheduleSource(db_file)
    await source.startup()
    try:
        cron = ScheduledTask(task_name="app:add", args=[1, 2], cron="*/5 * * * *", schedule_id="c")
        once = ScheduledTask(
            task_name="app:add",
            time=datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc),
            schedule_id="o",
        )
        await source.add_schedule(cron)
        await source.add_schedule(once)
        assert await source.get_schedules() == [cron, once]
        await source.post_send(once)
        await source.post_send(cron)
        assert await source.get_schedules() == [cron]
        await source.delete_schedule("c")
        await source.delete_schedule("c")  # an unknown id is no error
        assert await source.get_schedules() == []
    finally:
        await source.shutdown()


async def test_an_unreadable_schedule_is_skipped(db_file: str) -> None:
    source = SQLiteScheduleSource(db_file)
    await source.startup()
    try:
        await source.add_schedule(ScheduledTask(task_name="a:b", interval=5, schedule_id="ok"))
        with sqlite3.connect(db_file) as conn:
            conn.execute("INSERT INTO taskiq_schedules VALUES ('bad', x'ff00')")
        assert [s.schedule_id for s in await source.get_schedules()] == ["ok"]
    finally:
        await source.shutdown()
