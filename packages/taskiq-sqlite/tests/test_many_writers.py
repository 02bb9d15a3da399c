"""Several processes writing one file at once: every write lands, none fails."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

SENDER = """
import asyncio, sys
from taskiq_sqlite import SQLiteBroker, SQLiteResultBackend

async def main(path, tag):
    broker = SQLiteBroker(path).with_result_backend(SQLiteResultBackend(path))
    await broker.startup()
    task = broker.register_task(lambda: None, task_name="t:noop")
    await asyncio.gather(*(task.kiq() for _ in range(300)))
    await broker.shutdown()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_three_processes_send_at_once(db_file: str) -> None:
    senders = [
        subprocess.Popen([sys.executable, "-c", SENDER, db_file, str(n)], stderr=subprocess.PIPE)
        for n in range(3)
    ]
    errors = [sender.communicate(timeout=60)[1].decode() for sender in senders]
    assert [sender.returncode for sender in senders] == [0, 0, 0], errors
    assert all("locked" not in text and "Error" not in text for text in errors), errors
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("SELECT COUNT(*) FROM taskiq_messages").fetchone() == (900,)
        assert conn.execute("SELECT COUNT(*) FROM taskiq_task_states").fetchone() == (900,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
