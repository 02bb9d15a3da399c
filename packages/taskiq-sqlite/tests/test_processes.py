"""Real ``taskiq worker`` processes on one file: round trip, SIGKILL, reclaim, late workers.

Each test copies `worker_app` beside its own file and starts workers there.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlite_test_helpers import DEADLINE, Workers, wait_for
from taskiq import TaskiqMessage
from taskiq.control.dead_letters import dead_letters_of
from taskiq_sqlite import SQLiteBroker, SQLiteResultBackend

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent


@pytest.fixture
def app(tmp_path: Path, db_file: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``worker_app`` copied into the test's folder, on the test's file, 2 s leases."""
    shutil.copy(HERE / "worker_app.py", tmp_path / "worker_app.py")
    monkeypatch.setenv("TASKIQ_SQLITE_TEST_DB", db_file)
    monkeypatch.setenv("TASKIQ_SQLITE_TEST_LEASE", "2")
    return "worker_app:broker"


@pytest.fixture
async def client(db_file: str) -> AsyncIterator[SQLiteBroker]:
    """A client broker on the file, with the app's tasks registered by name."""
    broker = SQLiteBroker(db_file).with_result_backend(SQLiteResultBackend(db_file))
    await broker.startup()
    yield broker
    await broker.shutdown()


async def _status(app: str, workers: Workers) -> dict[str, Any]:
    """What ``taskiq status APP --json`` prints, run in the workers' folder."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "taskiq",
        "status",
        app,
        "--json",
        cwd=workers.folder,
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await asyncio.wait_for(process.communicate(), DEADLINE)
    assert process.returncode == 0
    found: dict[str, Any] = json.loads(output)
    return found


def _rows(db_file: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_file, timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


async def test_round_trip_under_two_worker_processes(
    app: str, client: SQLiteBroker, workers: Workers
) -> None:
    workers.start(app, "--workers", "2")
    add = client.register_task(lambda a, b: a + b, task_name="app:add")
    tasks = [await add.kiq(n, 1) for n in range(20)]
    results = [await task.wait_result(timeout=DEADLINE) for task in tasks]
    assert [result.return_value for result in results] == [n + 1 for n in range(20)]
    assert all(not result.is_err for result in results)
    # The control plane over the same file: both children's heartbeats, the queue empty.
    end = time.monotonic() + DEADLINE
    while True:
        status = await _status(app, workers)
        if len(status["workers"]) == 2 or time.monotonic() > end:
            break
        await asyncio.sleep(0.5)
    assert [w["id"]["index"] for w in status["workers"]] == [0, 1], status
    assert status["queues"][0]["queue"] == "taskiq"
    assert status["queues"][0]["ready"] == 0


async def test_sigkill_mid_drain_loses_nothing(
    app: str, client: SQLiteBroker, workers: Workers, db_file: str
) -> None:
    echo = client.register_task(lambda value, seconds: None, task_name="app:slow_echo")
    tasks = [await echo.kiq(n, 0.02) for n in range(150)]
    first = workers.start(app, "--workers", "1", "--max-async-tasks", "5")

    def some_done() -> bool:
        return bool(_rows(db_file, "SELECT 1 FROM taskiq_results LIMIT 1"))

    wait_for(some_done, "the first worker finished a task")
    workers.kill(first)
    held = _rows(db_file, "SELECT COUNT(*) FROM taskiq_messages WHERE state = 1")[0][0]
    killed_at = time.monotonic()
    workers.start(app, "--workers", "1", "--max-async-tasks", "20")
    results = [await task.wait_result(timeout=DEADLINE) for task in tasks]
    assert sorted(result.return_value["value"] for result in results) == list(range(150))
    assert time.monotonic() - killed_at < 30
    assert held > 0, "the kill should have caught deliveries in flight"
    assert _rows(db_file, "SELECT COUNT(*) FROM taskiq_messages") == [(0,)]
    assert "Took back" in workers.log(1)


async def test_a_row_left_processing_is_reclaimed(
    app: str, client: SQLiteBroker, workers: Workers, db_file: str
) -> None:
    add = client.register_task(lambda a, b: a + b, task_name="app:add")
    task = await add.kiq(2, 3)
    # What a worker that died holding the row leaves behind.
    with sqlite3.connect(db_file) as conn:
        conn.execute(
            "UPDATE taskiq_messages SET state = 1, owner = 'dead-worker', deliveries = 1,"
            " available_at = ?",
            (time.time() + 1,),
        )
    workers.start(app, "--workers", "1")
    assert (await task.wait_result(timeout=DEADLINE)).return_value == 5


async def test_rows_sent_with_no_worker_running_run_when_one_starts(
    app: str, client: SQLiteBroker, workers: Workers, db_file: str
) -> None:
    add = client.register_task(lambda a, b: a + b, task_name="app:add")
    tasks = [await add.kiq(n, n) for n in range(5)]
    # And one inserted by hand, as another program might.
    message = client.formatter.dumps(
        TaskiqMessage(task_id="by-hand", task_name="app:add", labels={}, args=[40, 2], kwargs={})
    )
    with sqlite3.connect(db_file) as conn:
        conn.execute(
            "INSERT INTO taskiq_messages (queue, message) VALUES ('taskiq', ?)", (message.message,)
        )
    assert _rows(db_file, "SELECT COUNT(*) FROM taskiq_messages") == [(6,)]
    workers.start(app, "--workers", "1")
    assert [(await t.wait_result(timeout=DEADLINE)).return_value for t in tasks] == [0, 2, 4, 6, 8]
    backend = client.result_backend
    await backend.wait_until_ready("by-hand", timeout=DEADLINE)
    assert (await backend.get_result("by-hand")).return_value == 42


async def test_garbage_rows_are_dead_lettered(
    app: str, client: SQLiteBroker, workers: Workers, db_file: str
) -> None:
    with sqlite3.connect(db_file) as conn:
        for garbage in (b"\xff\x00 not json", "{}", '{"task_name": "app:add"}', "[1, 2]"):
            conn.execute(
                "INSERT INTO taskiq_messages (queue, message) VALUES ('taskiq', ?)", (garbage,)
            )
    workers.start(app, "--workers", "1")
    store = dead_letters_of(client)

    async def count() -> int:
        return await store.count()

    end = time.monotonic() + DEADLINE
    while await count() < 4:
        assert time.monotonic() < end, workers.log()
        await asyncio.sleep(0.1)
    letters = (await store.list()).letters
    assert len(letters) == 4
    assert {letter.kind.value for letter in letters} == {"malformed"}, [x.reason for x in letters]
    wait_for(lambda: workers.log().count("Dead-lettered") == 4, "four dead-letter log lines")
    assert "Traceback" not in workers.log()
