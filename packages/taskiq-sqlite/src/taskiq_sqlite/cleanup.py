"""Bounded growth: expired rows deleted, dead letters capped, free pages handed back.

Every process that has the file open runs `sweep` every ``cleanup_interval``
(60 s by default; whoever comes first does the work, the others find nothing):

1. results, progress, task states, claims and worker records past ``expires_at``
   are deleted (reads already ignore them, so a sweep only frees space);
2. dead letters beyond the newest ``dead_letter_max`` of the file are deleted;
3. when more than a quarter of the file (and at least 4 MiB) is free pages, up to
   `VACUUM_PAGES` of them are returned to the file system (``PRAGMA
   incremental_vacuum``; the file is created with ``auto_vacuum=INCREMENTAL``),
   a few milliseconds of lock at a time instead of a full VACUUM.

The WAL is checkpointed by SQLite itself (every 1000 pages) and truncated to
64 MiB after a checkpoint (``journal_size_limit``).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time

from taskiq_sqlite.database import Database

logger = logging.getLogger("taskiq_sqlite.cleanup")

#: Seconds between two sweeps unless told otherwise.
DEFAULT_CLEANUP_INTERVAL = 60.0
#: Dead letters kept per file unless told otherwise.
DEFAULT_DEAD_LETTER_MAX = 100_000
#: Most free pages returned by one sweep.
VACUUM_PAGES = 2000
_EXPIRING = (
    "taskiq_results",
    "taskiq_progress",
    "taskiq_task_states",
    "taskiq_claims",
    "taskiq_workers",
)


def sweep(conn: sqlite3.Connection, dead_letter_max: int = DEFAULT_DEAD_LETTER_MAX) -> int:
    """Delete what expired and the oldest dead letters over the cap; how many rows went."""
    now = time.time()
    deleted = 0
    for table in _EXPIRING:
        deleted += conn.execute(
            f"DELETE FROM {table} WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)
        ).rowcount
    deleted += conn.execute(
        "DELETE FROM taskiq_dead_letters WHERE id <= (SELECT id FROM taskiq_dead_letters"
        " ORDER BY id DESC LIMIT 1 OFFSET ?)",
        (dead_letter_max,),
    ).rowcount
    return deleted


def vacuum_step(conn: sqlite3.Connection) -> int:
    """Return up to `VACUUM_PAGES` free pages when many are free; how many were free."""
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    if free * page_size >= 4 * 1024 * 1024 and free * 4 > pages:
        conn.execute(f"PRAGMA incremental_vacuum({VACUUM_PAGES})").fetchall()
    return free


async def sweep_forever(database: Database, interval: float, dead_letter_max: int) -> None:
    """Run `sweep` (in a write transaction) and `vacuum_step` every ``interval`` s."""
    while True:
        await asyncio.sleep(interval)
        try:
            deleted = await database.write(lambda conn: sweep(conn, dead_letter_max))
            # Outside a transaction: incremental_vacuum takes the write lock itself.
            await database.read(vacuum_step)
        except Exception as exc:  # the next sweep tries again
            logger.warning("Cleaning up %s failed: %s", database.path, exc)
            continue
        if deleted:
            logger.debug("Deleted %d expired rows from %s.", deleted, database.path)
