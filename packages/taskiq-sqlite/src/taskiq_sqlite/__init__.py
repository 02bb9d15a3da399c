"""A broker, result backend and schedule source for taskiq in one SQLite file: no server.

`SQLiteBroker` is at-least-once with leases, redelivery of a dead worker's
tasks, delays, priorities and dead letters, for the worker processes and
clients of one host. See docs/brokers/sqlite.md for the guarantees and numbers.
"""

from taskiq_sqlite.broker import SQLiteBroker
from taskiq_sqlite.result_backend import SQLiteResultBackend
from taskiq_sqlite.schedule_source import SQLiteScheduleSource

__all__ = ["SQLiteBroker", "SQLiteResultBackend", "SQLiteScheduleSource"]
