"""Schedules indexed by kind and due time, for many one-off schedules.

Layout (see `taskiq_redis.keys`): ``<prefix>:cron`` lists the ids of recurring
(cron and interval) schedules, ``<prefix>:time`` is a sorted set of one-off ids
scored by their UTC due time, and ``<prefix>:data:<id>`` holds each schedule.
`get_schedules` returns the recurring schedules plus the one-off schedules due
within ``lookahead`` seconds (and, unless ``skip_past_schedules``, those whose
time passed without firing) in two round trips, however many there are.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from taskiq.abc.schedule_source import ScheduleSource
from taskiq.abc.serializer import TaskiqSerializer
from taskiq.scheduler.scheduled_task import ScheduledTask
from taskiq.serializers import JSONSerializer

from taskiq_redis.connection import UsesConnector
from taskiq_redis.errors import translated
from taskiq_redis.exceptions import ScheduleSourceError
from taskiq_redis.keys import list_schedule_keys
from taskiq_redis.schedule_codec import decode_schedules, encode_schedule

#: One-off schedules due within this many seconds are returned by `get_schedules`.
DEFAULT_LOOKAHEAD = 120.0
#: With ``skip_past_schedules``, one-off schedules older than this are not returned.
PAST_GRACE = 60.0


def _timestamp(moment: datetime.datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


class ListRedisScheduleSource(UsesConnector, ScheduleSource):
    """A read-write schedule source that scales to many one-off schedules."""

    def __init__(
        self,
        url: str,
        prefix: str = "schedule",
        max_connection_pool_size: int | None = None,
        serializer: TaskiqSerializer | None = None,
        buffer_size: int = 50,
        skip_past_schedules: bool = False,
        lookahead: float = DEFAULT_LOOKAHEAD,
        populate_time_index: bool = False,
        **connection_kwargs: Any,
    ) -> None:
        # Taskiq's backfill of its time index; one-off schedules here are always indexed.
        del populate_time_index
        self.connector = self._connect(url, max_connection_pool_size, connection_kwargs)
        self.prefix = prefix
        self.serializer = serializer or JSONSerializer()
        self.buffer_size = max(1, buffer_size)
        self.skip_past_schedules = skip_past_schedules
        self.lookahead = lookahead
        self.cron_key, self.time_key, self.data_prefix = list_schedule_keys(prefix)
        self._migrate_from: ScheduleSource | None = None
        self._delete_migrated = True

    def with_migrate_from(
        self, source: ScheduleSource, delete_schedules: bool = True
    ) -> ListRedisScheduleSource:
        """Copy ``source``'s schedules into this one at startup (Taskiq's migration path).

        With ``delete_schedules`` each copied schedule is deleted from ``source``.
        Copying is idempotent (same ids), so a migration cut short is finished
        by the next startup.
        """
        self._migrate_from = source
        self._delete_migrated = delete_schedules
        return self

    async def startup(self) -> None:
        """Check that Redis answers (`BrokerConnectionError` otherwise), then migrate."""
        await self.connector.check()
        if self._migrate_from is not None:
            await self._migrate(self._migrate_from)

    async def _migrate(self, source: ScheduleSource) -> None:
        await source.startup()
        try:
            for schedule in await source.get_schedules():
                await self.add_schedule(schedule)
                if self._delete_migrated:
                    await source.delete_schedule(schedule.schedule_id)
        finally:
            await source.shutdown()

    async def shutdown(self) -> None:
        """Close connections."""
        await self.connector.close()

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        """Store ``schedule`` and index it by kind (recurring) or due time (one-off)."""
        schedule_id = schedule.schedule_id
        payload = encode_schedule(self.serializer, schedule)
        with translated(ScheduleSourceError, self.connector.address, schedule_id=schedule_id):
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(self.data_prefix + schedule_id, payload)
                pipe.lrem(self.cron_key, 0, schedule_id)
                pipe.zrem(self.time_key, schedule_id)
                if schedule.time is not None:
                    pipe.zadd(self.time_key, {schedule_id: _timestamp(schedule.time)})
                else:
                    pipe.rpush(self.cron_key, schedule_id)
                await pipe.execute()

    async def delete_schedule(self, schedule_id: str) -> None:
        """Remove a schedule and its index entries; an unknown id is not an error."""
        with translated(ScheduleSourceError, self.connector.address, schedule_id=schedule_id):
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.delete(self.data_prefix + schedule_id)
                pipe.lrem(self.cron_key, 0, schedule_id)
                pipe.zrem(self.time_key, schedule_id)
                await pipe.execute()

    async def get_schedules(self) -> list[ScheduledTask]:
        """Recurring schedules plus one-off schedules due soon: two round trips."""
        ids = await self._due_ids()
        with translated(ScheduleSourceError, self.connector.address, schedule_id="*"):
            async with self.redis.pipeline(transaction=False) as pipe:
                for start in range(0, len(ids), self.buffer_size):
                    chunk = ids[start : start + self.buffer_size]
                    pipe.mget([self.data_prefix + schedule_id for schedule_id in chunk])
                chunks: list[list[bytes | None]] = await pipe.execute() if ids else []
        values = [value for chunk in chunks for value in chunk]
        return decode_schedules(self.serializer, list(zip(ids, values, strict=True)))

    async def _due_ids(self) -> list[str]:
        now = time.time()
        oldest = now - PAST_GRACE if self.skip_past_schedules else "-inf"
        with translated(ScheduleSourceError, self.connector.address, schedule_id="*"):
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.lrange(self.cron_key, 0, -1)
                pipe.zrangebyscore(self.time_key, oldest, now + self.lookahead)
                recurring, one_off = await pipe.execute()
        return [raw.decode() for raw in [*recurring, *one_off]]

    async def post_send(self, task: ScheduledTask) -> None:
        """A one-off schedule is deleted once it has fired."""
        if task.time is not None:
            await self.delete_schedule(task.schedule_id)
