"""Bad settings fail at construction in one line; bad labels are logged and ignored."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from taskiq.exceptions import SendTaskError
from taskiq.message import BrokerMessage
from taskiq_sqlite import SQLiteBroker, SQLiteResultBackend, SQLiteScheduleSource


@pytest.mark.parametrize("factory", [SQLiteBroker, SQLiteResultBackend, SQLiteScheduleSource])
def test_an_in_memory_database_is_refused(factory: type) -> None:
    with pytest.raises(ValueError, match="cannot be shared between processes"):
        factory(":memory:")


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        SQLiteBroker(str(tmp_path / "nope" / "tasks.db"))


def test_bad_numbers_are_refused(db_file: str) -> None:
    with pytest.raises(ValueError, match=r"lease must be at least 0\.1 s"):
        SQLiteBroker(db_file, lease=0)
    with pytest.raises(ValueError, match="at least 1"):
        SQLiteBroker(db_file, max_deliveries=0)
    with pytest.raises(ValueError, match="result_ex_time must be more than 0"):
        SQLiteResultBackend(db_file, result_ex_time=0)
    with pytest.raises(ValueError, match="synchronous must be"):
        SQLiteResultBackend(db_file + "2", synchronous="sometimes")


async def test_sending_before_startup_says_what_to_do(db_file: str) -> None:
    broker = SQLiteBroker(db_file)
    message = BrokerMessage(task_id="x", task_name="t", message=b"{}", labels={})
    with pytest.raises(SendTaskError, match=r"startup\(\)"):
        await broker.kick(message)


async def test_a_bad_delay_is_refused_and_a_bad_priority_ignored(
    db_file: str, caplog: pytest.LogCaptureFixture
) -> None:
    broker = SQLiteBroker(db_file)
    await broker.startup()
    try:
        with pytest.raises(SendTaskError):
            await broker.kick(BrokerMessage("x", "t", b"{}", {"delay": "soon"}))
        with caplog.at_level(logging.WARNING):
            await broker.kick(BrokerMessage("y", "t", b"{}", {"priority": "high"}))
        assert "Ignoring label priority='high'" in caplog.text
    finally:
        await broker.shutdown()
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("SELECT task_id, priority FROM taskiq_messages").fetchall() == [
            ("y", 0)
        ]


def test_a_file_that_is_not_a_database_fails_at_startup(db_file: str) -> None:
    Path(db_file).write_bytes(b"this is not a database, it is a text file" * 100)

    async def start() -> None:
        broker = SQLiteBroker(db_file)
        try:
            await broker.startup()
        finally:
            await broker.shutdown()

    import asyncio

    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        asyncio.run(start())
