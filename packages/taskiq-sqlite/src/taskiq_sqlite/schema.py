"""The storage layout in one place: every table, index and pragma of the file.

One file holds everything a system needs; the broker, the result backend and
the schedule source may share it or use files of their own:

- ``taskiq_messages``: deliveries waiting or running. ``state`` 0 is waiting
  (ready once ``available_at`` has passed: that is how a delay works), 1 is
  held by ``owner`` until ``available_at`` (its lease; renewed while the task
  runs, taken back by any worker once it passed). Acknowledged rows are deleted.
- ``taskiq_dead_letters``: deliveries that must not run again, with the reason.
- ``taskiq_results``, ``taskiq_progress``, ``taskiq_task_states``: per task id,
  each with ``expires_at`` (unix seconds; NULL never).
- ``taskiq_claims``, ``taskiq_workers``: claims and worker heartbeats.
- ``taskiq_schedules``: schedule id -> serialized `ScheduledTask`.

Every column a person inserting a row by hand may leave out has a default, so
``INSERT INTO taskiq_messages(queue, message) VALUES ('taskiq', ?)`` sends a task.
"""

from __future__ import annotations

import sqlite3

#: Bumped when the layout changes; stored in ``PRAGMA user_version``.
SCHEMA_VERSION = 1

TABLES = """
CREATE TABLE IF NOT EXISTS taskiq_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL DEFAULT 'taskiq',
    priority INTEGER NOT NULL DEFAULT 0,
    state INTEGER NOT NULL DEFAULT 0,
    available_at REAL NOT NULL DEFAULT 0,
    owner TEXT,
    deliveries INTEGER NOT NULL DEFAULT 0,
    task_id TEXT,
    task_name TEXT,
    message BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS taskiq_messages_next
    ON taskiq_messages (queue, state, priority DESC, id);
CREATE INDEX IF NOT EXISTS taskiq_messages_due
    ON taskiq_messages (queue, state, available_at);
CREATE TABLE IF NOT EXISTS taskiq_dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    task_id TEXT,
    task_name TEXT,
    reason TEXT NOT NULL,
    deliveries INTEGER,
    died_at REAL NOT NULL,
    message BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS taskiq_dead_letters_queue ON taskiq_dead_letters (queue, id);
CREATE TABLE IF NOT EXISTS taskiq_results (
    task_id TEXT PRIMARY KEY,
    result BLOB NOT NULL,
    expires_at REAL
);
CREATE INDEX IF NOT EXISTS taskiq_results_expiry ON taskiq_results (expires_at);
CREATE TABLE IF NOT EXISTS taskiq_progress (
    task_id TEXT PRIMARY KEY,
    progress BLOB NOT NULL,
    expires_at REAL
);
CREATE TABLE IF NOT EXISTS taskiq_task_states (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL,
    transition TEXT NOT NULL,
    expires_at REAL
);
CREATE INDEX IF NOT EXISTS taskiq_task_states_task ON taskiq_task_states (task_id);
CREATE INDEX IF NOT EXISTS taskiq_task_states_expiry ON taskiq_task_states (expires_at);
CREATE TABLE IF NOT EXISTS taskiq_claims (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS taskiq_workers (
    key TEXT PRIMARY KEY,
    info BLOB NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS taskiq_schedules (
    schedule_id TEXT PRIMARY KEY,
    schedule BLOB NOT NULL
);
"""


def connect(path: str, busy_timeout: float, synchronous: str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with the file's pragmas.

    WAL lets readers run beside the one writer; ``busy_timeout`` makes a writer
    wait for the lock instead of failing; ``synchronous=NORMAL`` (the default)
    survives any process crash, and may lose the last transactions only on a
    power cut (``FULL`` does not, at one fsync per commit).
    """
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
    )
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    # Only a new, empty file takes it, and only before WAL mode writes its first page:
    # it lets `taskiq_sqlite.cleanup` give free pages back in small steps.
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("PRAGMA journal_size_limit = 67108864")
    return conn


def create(conn: sqlite3.Connection) -> None:
    """Create what is missing (every process does, at start-up; it is idempotent)."""
    if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")  # two processes starting together create it once
    try:
        for statement in TABLES.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
