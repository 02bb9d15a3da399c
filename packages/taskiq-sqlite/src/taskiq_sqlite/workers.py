"""Worker heartbeats (`taskiq.control.workers`) as rows of ``taskiq_workers`` with an expiry."""

from __future__ import annotations

import sqlite3
import time
from functools import partial

from taskiq.control.workers import WorkerId, WorkerInfo, WorkerRegistry, sorted_live

from taskiq_sqlite.database import Database


class SQLiteWorkerRegistry(WorkerRegistry):
    """Heartbeats in the SQLite file; a record past its expiry is not listed."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def publish(self, info: WorkerInfo) -> None:
        """Store ``info`` (replacing the last one), expiring after ``info.expires_in`` s."""
        await self.database.write(partial(_publish, key=info.id.key, info=info))

    async def remove(self, worker: WorkerId) -> None:
        """Forget ``worker``'s record."""
        await self.database.write(partial(_remove, key=worker.key))

    async def list(self) -> list[WorkerInfo]:
        """The live records, ordered by host, pid and index."""
        raws = await self.database.read(_live)
        records = []
        for raw in raws:
            try:
                records.append(WorkerInfo.from_json(raw))
            except (ValueError, KeyError, TypeError):
                continue
        return sorted_live(records)


def _publish(conn: sqlite3.Connection, key: str, info: WorkerInfo) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO taskiq_workers (key, info, expires_at) VALUES (?, ?, ?)",
        (key, info.to_json(), time.time() + info.expires_in),
    )


def _remove(conn: sqlite3.Connection, key: str) -> None:
    conn.execute("DELETE FROM taskiq_workers WHERE key = ?", (key,))


def _live(conn: sqlite3.Connection) -> list[bytes]:
    rows = conn.execute("SELECT info FROM taskiq_workers WHERE expires_at > ?", (time.time(),))
    return [bytes(row[0]) for row in rows]
