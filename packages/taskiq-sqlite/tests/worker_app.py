"""The application the process tests run under ``taskiq worker`` (copied next to the file).

``TASKIQ_SQLITE_TEST_DB`` names the file and ``TASKIQ_SQLITE_TEST_LEASE`` the lease
in seconds, so that one module serves every test.
"""

from __future__ import annotations

import asyncio
import os

from taskiq_sqlite import SQLiteBroker, SQLiteResultBackend

PATH = os.environ.get("TASKIQ_SQLITE_TEST_DB", "tasks.db")
LEASE = float(os.environ.get("TASKIQ_SQLITE_TEST_LEASE", "10"))

broker = SQLiteBroker(PATH, lease=LEASE).with_result_backend(SQLiteResultBackend(PATH))


@broker.task(task_name="app:add")
async def add(a: int, b: int) -> int:
    """A quick task."""
    return a + b


@broker.task(task_name="app:slow_echo")
async def slow_echo(value: int, seconds: float = 0.05) -> dict[str, int]:
    """Takes a while, and says which process ran it."""
    await asyncio.sleep(seconds)
    return {"value": value, "pid": os.getpid()}
