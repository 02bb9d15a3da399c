"""The application the worker-process tests run (settings from the environment)."""

from __future__ import annotations

import asyncio
import os

from taskiq_pg.asyncpg import AsyncpgBroker, AsyncpgResultBackend

DSN = os.environ["TASKIQ_PG_DSN"]
PREFIX = os.environ["TASKIQ_PG_PREFIX"]

broker = AsyncpgBroker(
    DSN, table_name=f"{PREFIX}_messages", lease=2.0, poll_interval=0.2
).with_result_backend(AsyncpgResultBackend(DSN, table_name=f"{PREFIX}_results"))


@broker.task(task_name="pg:add")
async def add(a: int, b: int, pause: float = 0.0) -> int:
    await asyncio.sleep(pause)
    return a + b
