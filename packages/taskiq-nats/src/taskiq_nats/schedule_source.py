"""Schedules in a JetStream key-value bucket, added and removed while the scheduler runs.

Each schedule is one key, ``<prefix>.<schedule_id>``, holding the
`ScheduledTask` as JSON; the scheduler reads them all on every update, so a
schedule added from a web request takes effect at the next tick. One-off
(``time=``) schedules delete themselves after they fired.
"""

from __future__ import annotations

import logging
from typing import Any

from nats.aio.client import Client
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import KeyDeletedError, KeyNotFoundError, NoKeysError
from nats.js.kv import KeyValue
from pydantic import ValidationError
from taskiq.abc.broker import AsyncBroker
from taskiq.abc.schedule_source import ScheduleSource
from taskiq.abc.serializer import TaskiqSerializer
from taskiq.scheduler.scheduled_task import ScheduledTask
from taskiq.serializers import JSONSerializer

from taskiq_nats import connection
from taskiq_nats._errors import NOT_STARTED, ScheduleSourceError, nats_errors
from taskiq_nats.buckets import result_key

logger = logging.getLogger("taskiq_nats")


def _broker_connection(
    broker: AsyncBroker,
    options: dict[str, Any],
) -> tuple[connection.Servers, dict[str, Any]]:
    """The servers and connection options of a taskiq_nats broker (own options win)."""
    servers = getattr(broker, "servers", None)
    if servers is None:
        raise TypeError(
            f"NATSKeyValueScheduleSource needs NATS server URLs or a taskiq_nats broker, "
            f"got {type(broker).__name__}.",
        )
    broker_options: dict[str, Any] = dict(getattr(broker, "connection_kwargs", {}))
    return servers, {**broker_options, **options}


class NATSKeyValueScheduleSource(ScheduleSource):
    """A `ScheduleSource` in the KV bucket ``bucket_name``; keys start with ``prefix``.

    ``servers`` may also be one of this package's brokers, as Taskiq's docs show
    (``NATSKeyValueScheduleSource(broker)``): its servers and connection options are used.
    """

    def __init__(
        self,
        servers: connection.Servers | AsyncBroker,
        bucket_name: str = "taskiq_schedules",
        prefix: str = "schedule",
        serializer: TaskiqSerializer | None = None,
        connect_attempts: int = connection.DEFAULT_CONNECT_ATTEMPTS,
        **connect_options: Any,
    ) -> None:
        if isinstance(servers, AsyncBroker):
            servers, connect_options = _broker_connection(servers, connect_options)
        self.servers = servers
        self.bucket_name = bucket_name
        self.prefix = prefix
        self.serializer = serializer or JSONSerializer()
        self.connect_attempts = connect_attempts
        self.connect_options = connect_options
        self.client: Client | None = None
        self._kv: KeyValue | None = None

    async def startup(self) -> None:
        """Connect and open (or create) the bucket."""
        self.client = await connection.connect(
            self.servers,
            self.connect_attempts,
            **self.connect_options,
        )
        with nats_errors(ScheduleSourceError, f"Cannot open the bucket {self.bucket_name!r}"):
            config = KeyValueConfig(bucket=self.bucket_name, storage=StorageType.FILE)
            self._kv = await connection.open_bucket(self.client, config)

    async def shutdown(self) -> None:
        """Disconnect."""
        await connection.close(self.client)
        self._kv = None

    @property
    def kv(self) -> KeyValue:
        """The open bucket; a clear error if `startup` was not called."""
        if self._kv is None:
            raise ScheduleSourceError(NOT_STARTED)
        return self._kv

    def _key(self, schedule_id: str) -> str:
        return result_key(self.prefix, schedule_id)

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        """Store (or replace) ``schedule`` under its ``schedule_id``."""
        payload = self.serializer.dumpb(schedule.model_dump(mode="json"))
        with nats_errors(ScheduleSourceError, f"Cannot store schedule {schedule.schedule_id!r}"):
            await self.kv.put(self._key(schedule.schedule_id), payload)

    async def delete_schedule(self, schedule_id: str) -> None:
        """Remove a schedule; removing one that does not exist is not an error."""
        with nats_errors(ScheduleSourceError, f"Cannot delete schedule {schedule_id!r}"):
            await self.kv.delete(self._key(schedule_id))

    async def get_schedules(self) -> list[ScheduledTask]:
        """Every stored schedule; an unreadable entry is logged and skipped."""
        with nats_errors(ScheduleSourceError, f"Cannot list schedules in {self.bucket_name!r}"):
            keys = await self._keys()
            schedules = [await self._load(key) for key in keys]
        return [schedule for schedule in schedules if schedule is not None]

    async def post_send(self, task: ScheduledTask) -> None:
        """A one-off (``time=``) schedule has fired: delete it."""
        if task.time is not None:
            await self.delete_schedule(task.schedule_id)

    async def _keys(self) -> list[str]:
        try:
            keys: list[str] = await self.kv.keys()
        except NoKeysError:
            return []
        return [key for key in keys if key.startswith(f"{self.prefix}.")]

    async def _load(self, key: str) -> ScheduledTask | None:
        try:
            entry = await self.kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None  # deleted between listing and reading
        try:
            return ScheduledTask.model_validate(self.serializer.loadb(entry.value or b""))
        except (ValueError, TypeError, ValidationError) as exc:
            logger.error("Skipping unreadable schedule %s in %s: %s", key, self.bucket_name, exc)
            return None
