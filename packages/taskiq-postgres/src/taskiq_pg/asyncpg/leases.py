"""Keeps the leases of the rows a worker holds, while it holds them.

Every ``lease / 3`` seconds one UPDATE extends the lease of every row this
broker claimed and has not settled yet (running or waiting in the prefetch):
a task running for an hour keeps its row, and a SIGKILLed worker's rows become
claimable ``lease`` seconds after its last renewal.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from taskiq_pg.asyncpg.store import MessageStore
from taskiq_pg.connection import CONNECTION_ERRORS

logger = logging.getLogger("taskiq_pg")


class LeaseKeeper:
    """The set of held row ids and the task that renews them."""

    def __init__(self, store: MessageStore, lease: float) -> None:
        self.held: set[int] = set()
        self._store = store
        self._lease = lease
        self._task: asyncio.Task[None] | None = None

    def start(self, pool: Any) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._renew_forever(pool), name="taskiq_pg leases")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _renew_forever(self, pool: Any) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            if not self.held:
                continue
            try:
                await self._store.renew(pool, list(self.held), self._lease)
            except CONNECTION_ERRORS as exc:
                logger.warning("Could not renew %d lease(s): %s", len(self.held), exc)
