"""Schedules kept in one Redis hash: add and delete them while the scheduler runs.

Layout: ``<prefix>:schedules`` maps schedule id -> serialized `ScheduledTask`
(see `taskiq_redis.keys`). `get_schedules` is one HGETALL, however many
schedules there are; one-off (``time``) schedules are deleted after they fire.
"""

from __future__ import annotations

from typing import Any

from taskiq.abc.schedule_source import ScheduleSource
from taskiq.abc.serializer import TaskiqSerializer
from taskiq.scheduler.scheduled_task import ScheduledTask
from taskiq.serializers import JSONSerializer

from taskiq_redis.connection import UsesConnector
from taskiq_redis.errors import translated
from taskiq_redis.exceptions import ScheduleSourceError
from taskiq_redis.keys import schedule_hash
from taskiq_redis.schedule_codec import decode_schedules, encode_schedule


class RedisScheduleSource(UsesConnector, ScheduleSource):
    """A read-write schedule source; ``buffer_size`` is accepted for compatibility."""

    def __init__(
        self,
        url: str,
        prefix: str = "schedule",
        buffer_size: int = 50,
        max_connection_pool_size: int | None = None,
        serializer: TaskiqSerializer | None = None,
        **connection_kwargs: Any,
    ) -> None:
        self.connector = self._connect(url, max_connection_pool_size, connection_kwargs)
        self.prefix = prefix
        self.buffer_size = buffer_size
        self.serializer = serializer or JSONSerializer()
        self.key = schedule_hash(prefix)

    async def startup(self) -> None:
        """Check that Redis answers; raise `BrokerConnectionError` naming it otherwise."""
        await self.connector.check()

    async def shutdown(self) -> None:
        """Close connections."""
        await self.connector.close()

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        """Store (or replace) ``schedule`` under its id."""
        payload = encode_schedule(self.serializer, schedule)
        with translated(
            ScheduleSourceError, self.connector.address, schedule_id=schedule.schedule_id
        ):
            await self.redis.hset(self.key, schedule.schedule_id, payload)

    async def delete_schedule(self, schedule_id: str) -> None:
        """Remove a schedule; removing an unknown id is not an error."""
        with translated(ScheduleSourceError, self.connector.address, schedule_id=schedule_id):
            await self.redis.hdel(self.key, schedule_id)

    async def get_schedules(self) -> list[ScheduledTask]:
        """Every stored schedule, in one round trip; unreadable entries are logged and skipped."""
        with translated(ScheduleSourceError, self.connector.address, schedule_id="*"):
            stored: Any = await self.redis.hgetall(self.key)
        return decode_schedules(
            self.serializer,
            [(key.decode(errors="replace"), value) for key, value in stored.items()],
        )

    async def post_send(self, task: ScheduledTask) -> None:
        """A one-off schedule is deleted once it has fired."""
        if task.time is not None:
            await self.delete_schedule(task.schedule_id)
