"""Dead letters in ``taskiq_dead_letters``: list, count, replay, delete (the core contract).

Ids are the rows' integer ids as strings, in the order the deliveries died, so
they are also the paging cursor. Replay inserts a fresh delivery (its count
starts over) and deletes the dead letter in one transaction: never both, never neither.
"""

from __future__ import annotations

import datetime
import sqlite3
import time
from collections.abc import Collection
from functools import partial

from taskiq.control.dead_letters import (
    DEFAULT_PAGE_SIZE,
    DeadLetter,
    DeadLetterPage,
    DeadLetterStore,
)

from taskiq_sqlite.database import Database

_COLUMNS = "id, queue, task_id, task_name, reason, deliveries, died_at, message"


class SQLiteDeadLetterStore(DeadLetterStore):
    """The dead letters of one queue of the file."""

    def __init__(self, database: Database, queue: str) -> None:
        self.database = database
        self.queue = queue

    async def list(
        self, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
    ) -> DeadLetterPage:
        """Up to ``limit`` dead letters after ``cursor``, oldest first."""
        after = _int(cursor) if cursor is not None else 0
        rows = await self.database.read(
            partial(_page, queue=self.queue, after=after or 0, limit=max(1, limit) + 1)
        )
        more = len(rows) > max(1, limit)
        rows = rows[: max(1, limit)]
        letters = tuple(_letter(row) for row in rows)
        return DeadLetterPage(letters, letters[-1].id if more and letters else None)

    async def count(self) -> int:
        """How many dead letters the queue has."""
        return await self.database.read(partial(_count, queue=self.queue))

    async def replay(self, ids: Collection[str], *, to_queue: str | None = None) -> int:
        """Send the dead letters ``ids`` again (to ``to_queue`` if given) and remove them."""
        numbers = [n for n in (_int(i) for i in ids) if n is not None]
        return await self.database.write(
            partial(_replay, queue=self.queue, ids=numbers, to_queue=to_queue or self.queue)
        )

    async def replay_all(self, *, to_queue: str | None = None) -> int:
        """Replay every dead letter there is now."""
        return await self.database.write(
            partial(_replay, queue=self.queue, ids=None, to_queue=to_queue or self.queue)
        )

    async def delete(self, ids: Collection[str]) -> int:
        """Forget the dead letters ``ids``."""
        numbers = [n for n in (_int(i) for i in ids) if n is not None]
        return await self.database.write(partial(_delete, queue=self.queue, ids=numbers))

    async def delete_all(self) -> int:
        """Forget every dead letter of the queue."""
        return await self.database.write(partial(_delete, queue=self.queue, ids=None))


def _int(text: str) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _page(conn: sqlite3.Connection, queue: str, after: int, limit: int) -> list[tuple[object, ...]]:
    return conn.execute(
        f"SELECT {_COLUMNS} FROM taskiq_dead_letters"
        " WHERE queue = ? AND id > ? ORDER BY id LIMIT ?",
        (queue, after, limit),
    ).fetchall()


def _count(conn: sqlite3.Connection, queue: str) -> int:
    row = conn.execute("SELECT COUNT(*) FROM taskiq_dead_letters WHERE queue = ?", (queue,))
    return int(row.fetchone()[0])


def _replay(conn: sqlite3.Connection, queue: str, ids: list[int] | None, to_queue: str) -> int:
    chosen = "" if ids is None else f" AND id IN ({','.join('?' * len(ids))})"
    if ids == []:
        return 0
    params = (to_queue, time.time(), queue, *(ids or ()))
    conn.execute(
        "INSERT INTO taskiq_messages (queue, available_at, task_id, task_name, message)"
        " SELECT ?, ?, task_id, task_name, message FROM taskiq_dead_letters"
        f" WHERE queue = ?{chosen}"
        " ORDER BY id",
        params,
    )
    return conn.execute(
        f"DELETE FROM taskiq_dead_letters WHERE queue = ?{chosen}", (queue, *(ids or ()))
    ).rowcount


def _delete(conn: sqlite3.Connection, queue: str, ids: list[int] | None) -> int:
    if ids == []:
        return 0
    chosen = "" if ids is None else f" AND id IN ({','.join('?' * len(ids))})"
    return conn.execute(
        f"DELETE FROM taskiq_dead_letters WHERE queue = ?{chosen}", (queue, *(ids or ()))
    ).rowcount


def _letter(row: tuple[object, ...]) -> DeadLetter:
    row_id, queue, task_id, task_name, reason, deliveries, died_at, message = row
    return DeadLetter(
        id=str(row_id),
        queue=str(queue),
        task_id=None if task_id is None else str(task_id),
        task_name=None if task_name is None else str(task_name),
        reason=str(reason),
        delivery_count=None if deliveries is None else int(str(deliveries)),
        time=datetime.datetime.fromtimestamp(float(str(died_at)), tz=datetime.timezone.utc),
        message=message if isinstance(message, bytes) else str(message).encode(),
        details={"row": row_id},
    )
