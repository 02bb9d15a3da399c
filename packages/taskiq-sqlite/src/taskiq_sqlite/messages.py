"""The SQL of a queue: send, claim, settle, reclaim. Each function runs on the db thread.

A delivery is a row of ``taskiq_messages`` (see `taskiq_sqlite.schema`). Claiming
sets ``state`` 1, the worker's ``owner`` and a lease (``available_at``); every
settle names the owner too, so a worker that lost a lease to another (it was
stuck for longer than the lease) cannot delete or move the other's delivery.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from taskiq.control.dead_letter_reasons import failed_times

#: Columns a claim returns: the delivery and what is needed to settle and log it.
_RETURNED = "id, priority, deliveries, task_id, task_name, message"


@dataclass(frozen=True)
class Row:
    """One claimed delivery."""

    id: int
    priority: int
    deliveries: int
    task_id: str | None
    task_name: str | None
    message: bytes


@dataclass(frozen=True)
class Died:
    """A delivery moved to the dead letters by `reclaim` (for the one log line)."""

    task_id: str | None
    task_name: str | None
    reason: str


def insert(
    conn: sqlite3.Connection,
    queue: str,
    message: bytes,
    *,
    priority: int,
    available_at: float,
    task_id: str | None,
    task_name: str | None,
) -> None:
    """Send one delivery."""
    conn.execute(
        "INSERT INTO taskiq_messages (queue, priority, available_at, task_id, task_name, message)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (queue, priority, available_at, task_id, task_name, message),
    )


def next_due(conn: sqlite3.Connection, queue: str) -> float | None:
    """When the earliest waiting delivery of ``queue`` is ready (None: none waits)."""
    row = conn.execute(
        "SELECT MIN(available_at) FROM taskiq_messages WHERE queue = ? AND state = 0", (queue,)
    ).fetchone()
    return None if row[0] is None else float(row[0])


def claim(conn: sqlite3.Connection, queue: str, owner: str, lease: float, limit: int) -> list[Row]:
    """Take up to ``limit`` ready deliveries, highest priority first, oldest first."""
    now = time.time()
    rows = conn.execute(
        "UPDATE taskiq_messages SET state = 1, owner = ?, available_at = ?,"
        " deliveries = deliveries + 1 WHERE id IN (SELECT id FROM taskiq_messages"
        " WHERE queue = ? AND state = 0 AND available_at <= ?"
        " ORDER BY priority DESC, id LIMIT ?) RETURNING " + _RETURNED,
        (owner, now + lease, queue, now, limit),
    ).fetchall()
    found = [Row(row[0], row[1], row[2], row[3], row[4], _bytes(row[5])) for row in rows]
    found.sort(key=lambda row: (-row.priority, row.id))
    return found


def claim_if_due(
    conn: sqlite3.Connection,
    begin: Callable[[sqlite3.Connection], None],
    queue: str,
    owner: str,
    lease: float,
    limit: int,
) -> tuple[float | None, list[Row]]:
    """When the next delivery is due, and the ones claimed if it is due now.

    A read first, so an idle worker woken by someone else's commit does not take
    the write lock; ``begin`` starts the write transaction when there is work.
    """
    due = next_due(conn, queue)
    if due is None or due > time.time():
        return due, []
    begin(conn)
    try:
        rows = claim(conn, queue, owner, lease, limit)
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
    return due, rows


def ack(conn: sqlite3.Connection, row_id: int, owner: str) -> bool:
    """Delete a settled delivery; False if ``owner`` no longer held it."""
    cursor = conn.execute(
        "DELETE FROM taskiq_messages WHERE id = ? AND owner = ? AND state = 1", (row_id, owner)
    )
    return cursor.rowcount > 0


def hand_back(conn: sqlite3.Connection, row_id: int, owner: str) -> bool:
    """Make a delivery ready again at once; this delivery does not count as one."""
    cursor = conn.execute(
        "UPDATE taskiq_messages SET state = 0, owner = NULL, available_at = ?,"
        " deliveries = MAX(deliveries - 1, 0) WHERE id = ? AND owner = ? AND state = 1",
        (time.time(), row_id, owner),
    )
    return cursor.rowcount > 0


def hand_back_all(conn: sqlite3.Connection, queue: str, owner: str) -> int:
    """Give back everything ``owner`` still holds (a worker shutting down)."""
    cursor = conn.execute(
        "UPDATE taskiq_messages SET state = 0, owner = NULL, available_at = ?,"
        " deliveries = MAX(deliveries - 1, 0) WHERE queue = ? AND state = 1 AND owner = ?",
        (time.time(), queue, owner),
    )
    return cursor.rowcount


def dead_letter(conn: sqlite3.Connection, row_id: int, owner: str, reason: str) -> bool:
    """Move a held delivery to the dead letters with ``reason``; False if not held."""
    cursor = conn.execute(
        "INSERT INTO taskiq_dead_letters"
        " (queue, task_id, task_name, reason, deliveries, died_at, message)"
        " SELECT queue, task_id, task_name, ?, deliveries, ?, message FROM taskiq_messages"
        " WHERE id = ? AND owner = ? AND state = 1",
        (reason, time.time(), row_id, owner),
    )
    if cursor.rowcount == 0:
        return False
    conn.execute("DELETE FROM taskiq_messages WHERE id = ?", (row_id,))
    return True


def renew(conn: sqlite3.Connection, queue: str, owner: str, lease: float) -> int:
    """Extend the lease of everything ``owner`` holds; how many it holds."""
    cursor = conn.execute(
        "UPDATE taskiq_messages SET available_at = ? WHERE queue = ? AND state = 1 AND owner = ?",
        (time.time() + lease, queue, owner),
    )
    return cursor.rowcount


def has_expired_leases(conn: sqlite3.Connection, queue: str) -> bool:
    """True when a delivery's lease has run out (a cheap read before `reclaim`)."""
    row = conn.execute(
        "SELECT 1 FROM taskiq_messages WHERE queue = ? AND state = 1 AND available_at <= ? LIMIT 1",
        (queue, time.time()),
    ).fetchone()
    return row is not None


def reclaim(conn: sqlite3.Connection, queue: str, max_deliveries: int) -> tuple[int, list[Died]]:
    """Take back deliveries whose lease ran out: ready again, or dead after ``max_deliveries``.

    Returns how many became ready, and the ones that died.
    """
    now = time.time()
    doomed = conn.execute(
        "SELECT id, task_id, task_name, deliveries FROM taskiq_messages"
        " WHERE queue = ? AND state = 1 AND available_at <= ? AND deliveries >= ?",
        (queue, now, max_deliveries),
    ).fetchall()
    died = []
    for row_id, task_id, task_name, deliveries in doomed:
        reason = failed_times(deliveries)
        conn.execute(
            "INSERT INTO taskiq_dead_letters"
            " (queue, task_id, task_name, reason, deliveries, died_at, message)"
            " SELECT queue, task_id, task_name, ?, deliveries, ?, message FROM taskiq_messages"
            " WHERE id = ?",
            (reason, now, row_id),
        )
        conn.execute("DELETE FROM taskiq_messages WHERE id = ?", (row_id,))
        died.append(Died(task_id, task_name, reason))
    cursor = conn.execute(
        "UPDATE taskiq_messages SET state = 0, owner = NULL, available_at = ?"
        " WHERE queue = ? AND state = 1 AND available_at <= ?",
        (now, queue, now),
    )
    return cursor.rowcount, died


def _bytes(value: object) -> bytes:
    """A message column as bytes: rows inserted by hand may hold TEXT (or a number)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return str(value).encode()
