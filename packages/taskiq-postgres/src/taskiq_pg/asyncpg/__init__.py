"""The asyncpg driver: broker, result backend and schedule source."""

from taskiq_pg.asyncpg.broker import AsyncpgBroker
from taskiq_pg.asyncpg.result_backend import AsyncpgResultBackend
from taskiq_pg.asyncpg.schedule_source import AsyncpgScheduleSource

__all__ = ["AsyncpgBroker", "AsyncpgResultBackend", "AsyncpgScheduleSource"]
