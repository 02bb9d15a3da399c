"""The SQL of the result backend: results, progress, task states. Runs on the db thread.

A row whose ``expires_at`` has passed reads as absent, whether or not the sweep
has deleted it yet.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

_LIVE = "(expires_at IS NULL OR expires_at > ?)"


def put_result(
    conn: sqlite3.Connection, task_id: str, payload: bytes, expires_at: float | None
) -> None:
    """Store (or replace) a result."""
    conn.execute(
        "INSERT OR REPLACE INTO taskiq_results (task_id, result, expires_at) VALUES (?, ?, ?)",
        (task_id, payload, expires_at),
    )


def ready_among(conn: sqlite3.Connection, task_ids: Sequence[str]) -> list[str]:
    """Which of ``task_ids`` have an unexpired result."""
    found: list[str] = []
    for start in range(0, len(task_ids), 500):
        chunk = task_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT task_id FROM taskiq_results WHERE task_id IN ({marks}) AND {_LIVE}",
            (*chunk, time.time()),
        )
        found.extend(row[0] for row in rows)
    return found


def get_result(conn: sqlite3.Connection, task_id: str) -> bytes | None:
    """The stored result, or None."""
    row = conn.execute(
        f"SELECT result FROM taskiq_results WHERE task_id = ? AND {_LIVE}", (task_id, time.time())
    ).fetchone()
    return None if row is None else bytes(row[0])


def take_result(conn: sqlite3.Connection, task_id: str) -> bytes | None:
    """The stored result, deleted as it is read (``keep_results=False``)."""
    row = conn.execute(
        f"DELETE FROM taskiq_results WHERE task_id = ? AND {_LIVE} RETURNING result",
        (task_id, time.time()),
    ).fetchone()
    return None if row is None else bytes(row[0])


def delete_task(conn: sqlite3.Connection, task_id: str) -> None:
    """Forget everything about ``task_id``."""
    for table in ("taskiq_results", "taskiq_progress", "taskiq_task_states"):
        conn.execute(f"DELETE FROM {table} WHERE task_id = ?", (task_id,))


def put_progress(
    conn: sqlite3.Connection, task_id: str, payload: bytes, expires_at: float | None
) -> None:
    """Store (or replace) a progress report."""
    conn.execute(
        "INSERT OR REPLACE INTO taskiq_progress (task_id, progress, expires_at) VALUES (?, ?, ?)",
        (task_id, payload, expires_at),
    )


def get_progress(conn: sqlite3.Connection, task_id: str) -> bytes | None:
    """The latest progress report, or None."""
    row = conn.execute(
        f"SELECT progress FROM taskiq_progress WHERE task_id = ? AND {_LIVE}",
        (task_id, time.time()),
    ).fetchone()
    return None if row is None else bytes(row[0])


def append_state(
    conn: sqlite3.Connection, task_id: str, transition: str, expires_at: float | None
) -> None:
    """Append one transition (JSON) to a task's timeline."""
    conn.execute(
        "INSERT INTO taskiq_task_states (task_id, transition, expires_at) VALUES (?, ?, ?)",
        (task_id, transition, expires_at),
    )


def get_states(conn: sqlite3.Connection, task_id: str) -> list[str]:
    """The task's transitions in the order they were written."""
    rows = conn.execute(
        f"SELECT transition FROM taskiq_task_states WHERE task_id = ? AND {_LIVE} ORDER BY seq",
        (task_id, time.time()),
    )
    return [str(row[0]) for row in rows]
