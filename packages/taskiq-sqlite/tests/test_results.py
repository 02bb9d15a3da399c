"""The result backend: round trips, expiry with cleanup, progress, keep_results, readiness."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator

import pytest
from taskiq.depends.progress_tracker import TaskProgress, TaskState
from taskiq.exceptions import NoResultError, TaskiqResultTimeoutError
from taskiq.result import TaskiqResult
from taskiq_sqlite import SQLiteResultBackend


def _result(value: object) -> TaskiqResult[object]:
    return TaskiqResult(is_err=False, return_value=value, execution_time=0.1, log=None)


@pytest.fixture
async def backend(db_file: str) -> AsyncIterator[SQLiteResultBackend[object]]:
    started: SQLiteResultBackend[object] = SQLiteResultBackend(db_file)
    await started.startup()
    yield started
    await started.shutdown()


async def test_a_result_round_trips(backend: SQLiteResultBackend[object]) -> None:
    assert not await backend.is_result_ready("a")
    await backend.set_result("a", _result({"x": [1, 2]}))
    assert await backend.is_result_ready("a")
    assert (await backend.get_result("a")).return_value == {"x": [1, 2]}
    with pytest.raises(NoResultError):
        await backend.get_result("missing")


async def test_results_expire_and_the_sweep_deletes_them(db_file: str) -> None:
    backend: SQLiteResultBackend[object] = SQLiteResultBackend(db_file, result_ex_time=0.3)
    await backend.startup()
    try:
        await backend.set_result("short", _result(1))
        await backend.set_progress("short", TaskProgress(state=TaskState.STARTED, meta=None))
        assert (await backend.get_result("short")).return_value == 1
        await asyncio.sleep(0.5)
        assert not await backend.is_result_ready("short")
        with pytest.raises(NoResultError):
            await backend.get_result("short")
        assert await backend.get_progress("short") is None
        assert await backend.cleanup() == 2
        with sqlite3.connect(db_file) as conn:
            assert conn.execute("SELECT COUNT(*) FROM taskiq_results").fetchone() == (0,)
            assert conn.execute("PRAGMA auto_vacuum").fetchone() == (2,)  # incremental
    finally:
        await backend.shutdown()


async def test_keep_results_false_reads_once(db_file: str) -> None:
    backend: SQLiteResultBackend[object] = SQLiteResultBackend(db_file, keep_results=False)
    await backend.startup()
    try:
        await backend.set_result("once", _result("v"))
        assert (await backend.get_result("once")).return_value == "v"
        with pytest.raises(NoResultError):
            await backend.get_result("once")
    finally:
        await backend.shutdown()


async def test_progress_round_trips(backend: SQLiteResultBackend[object]) -> None:
    assert await backend.get_progress("p") is None
    await backend.set_progress("p", TaskProgress(state=TaskState.STARTED, meta={"done": 3}))
    progress = await backend.get_progress("p")
    assert progress is not None
    assert progress.state is TaskState.STARTED
    assert progress.meta == {"done": 3}


@pytest.mark.parametrize("wake_up", ["inotify", "polling data_version"])
async def test_a_waiter_returns_within_milliseconds_of_another_process_writing(
    db_file: str, wake_up: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write comes from another connection (as from a worker process)."""
    if wake_up != "inotify":
        monkeypatch.setenv("TASKIQ_SQLITE_NO_INOTIFY", "1")
    backend: SQLiteResultBackend[object] = SQLiteResultBackend(db_file)
    await backend.startup()
    try:
        await _wait_for_a_foreign_write(backend, db_file)
    finally:
        await backend.shutdown()


async def _wait_for_a_foreign_write(backend: SQLiteResultBackend[object], db_file: str) -> None:
    payload = await _encoded(backend, _result(7))
    waiter = asyncio.create_task(backend.wait_until_ready("late", timeout=10))
    await asyncio.sleep(0.3)
    assert not waiter.done()
    with sqlite3.connect(db_file) as conn:
        conn.execute("INSERT INTO taskiq_results (task_id, result) VALUES ('late', ?)", (payload,))
    written = time.monotonic()
    await waiter
    assert time.monotonic() - written < 0.1
    with pytest.raises(TaskiqResultTimeoutError):
        await backend.wait_until_ready("never", timeout=0.2)


async def _encoded(backend: SQLiteResultBackend[object], result: TaskiqResult[object]) -> bytes:
    return backend._encode("x", result)


def test_free_pages_are_given_back_in_steps(db_file: str) -> None:
    """What the sweep does after a burst: deleted rows' pages return to the file system."""
    from taskiq_sqlite import schema
    from taskiq_sqlite.cleanup import vacuum_step

    conn = schema.connect(db_file, 5.0, "NORMAL")
    schema.create(conn)
    with conn:
        conn.executemany(
            "INSERT INTO taskiq_results (task_id, result) VALUES (?, ?)",
            ((str(n), b"x" * 4000) for n in range(3000)),
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("DELETE FROM taskiq_results")
    free_before = conn.execute("PRAGMA freelist_count").fetchone()[0]
    assert vacuum_step(conn) == free_before > 2000
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] < free_before
    conn.close()
