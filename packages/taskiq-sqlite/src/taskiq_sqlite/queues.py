"""Queue depth and purge, counted exactly from the rows (the core `QueueInspector`)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from functools import partial

from taskiq.control.queues import QueueDepth, QueueInspector

from taskiq_sqlite.database import Database


class SQLiteQueueInspector(QueueInspector):
    """Ready, delayed, in flight and dead rows of a broker's queue."""

    def __init__(self, database: Database, queue: str) -> None:
        self.database = database
        self.queue = queue

    def queue_names(self) -> Sequence[str]:
        """The broker's one queue."""
        return [self.queue]

    async def depth(self, queue: str | None = None) -> QueueDepth:
        """Every count of ``queue`` in one read."""
        name = self._known(queue)
        ready, delayed, in_flight, dead = await self.database.read(partial(_depth, queue=name))
        return QueueDepth(name, ready, delayed, in_flight, dead)

    async def purge(self, queue: str | None = None) -> int:
        """Delete the ready rows of ``queue``."""
        name = self._known(queue)
        return await self.database.write(partial(_purge, queue=name))

    def _known(self, queue: str | None) -> str:
        if queue is None or queue == self.queue:
            return self.queue
        raise ValueError(f"Unknown queue {queue!r}: this broker knows only {self.queue!r}.")


def _depth(conn: sqlite3.Connection, queue: str) -> tuple[int, int, int, int]:
    now = time.time()
    ready, delayed, in_flight = conn.execute(
        "SELECT COALESCE(SUM(state = 0 AND available_at <= ?), 0),"
        " COALESCE(SUM(state = 0 AND available_at > ?), 0), COALESCE(SUM(state = 1), 0)"
        " FROM taskiq_messages WHERE queue = ?",
        (now, now, queue),
    ).fetchone()
    dead = conn.execute("SELECT COUNT(*) FROM taskiq_dead_letters WHERE queue = ?", (queue,))
    return int(ready), int(delayed), int(in_flight), int(dead.fetchone()[0])


def _purge(conn: sqlite3.Connection, queue: str) -> int:
    return conn.execute(
        "DELETE FROM taskiq_messages WHERE queue = ? AND state = 0 AND available_at <= ?",
        (queue, time.time()),
    ).rowcount
