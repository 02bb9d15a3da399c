"""Every ``wait_result`` of a process served by one poller and one query per change.

A waiter registers its task id; each time `taskiq_sqlite.changes` sees a commit
(or every second, should a change go unseen), the ids still waited for are
looked up together and their waiters released: a hundred clients waiting cost
one read per commit, not a hundred.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from taskiq_sqlite import store
from taskiq_sqlite.changes import ChangeWatcher
from taskiq_sqlite.database import Database

logger = logging.getLogger("taskiq_sqlite.readiness")

#: Seconds between two lookups when no change was seen (a safety net).
FALLBACK_INTERVAL = 1.0


class Readiness:
    """Waiters for results, released when their result is committed."""

    def __init__(self, database: Database, watcher: ChangeWatcher) -> None:
        self.database = database
        self.watcher = watcher
        self._waiting: dict[str, list[asyncio.Future[None]]] = {}
        self._looker: asyncio.Task[None] | None = None

    async def wait(self, task_id: str) -> None:
        """Return once the result of ``task_id`` is stored."""
        if await self.database.read(partial(store.ready_among, task_ids=[task_id])):
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(task_id, []).append(future)
        if self._looker is None or self._looker.done():
            self._looker = asyncio.get_running_loop().create_task(self._look())
        try:
            await future
        finally:
            waiters = self._waiting.get(task_id, [])
            if future in waiters:
                waiters.remove(future)
            if not waiters:
                self._waiting.pop(task_id, None)

    def close(self) -> None:
        """Stop looking (waiters left are cancelled) and close the watcher."""
        if self._looker is not None:
            self._looker.cancel()
            self._looker = None
        for waiters in self._waiting.values():
            for future in waiters:
                future.cancel()
        self._waiting.clear()
        self.watcher.close()

    async def _look(self) -> None:
        while self._waiting:
            await self.watcher.wait(FALLBACK_INTERVAL)
            ids = list(self._waiting)
            try:
                ready = await self.database.read(partial(store.ready_among, task_ids=ids))
            except Exception as exc:  # waiters keep waiting; their timeout bounds them
                logger.warning("Could not look for results in %s: %s", self.database.path, exc)
                await asyncio.sleep(FALLBACK_INTERVAL)
                continue
            for task_id in ready:
                for future in self._waiting.pop(task_id, []):
                    if not future.done():
                        future.set_result(None)
