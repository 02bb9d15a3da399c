"""Real `taskiq worker` processes on PostgreSQL: round trip, SIGKILL, reclaim, late start."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from pg_conftest_helpers import TESTS_DIR, make_broker
from taskiq_pg.asyncpg import AsyncpgBroker

pytestmark = [pytest.mark.service("postgres"), pytest.mark.slow, pytest.mark.timeout(90)]
DEADLINE = 45.0
WORKER_COMMAND = (sys.executable, "-m", "taskiq", "worker", "pg_worker_app:broker")


def start_worker(dsn: str, prefix: str, log: Path, workers: int = 1) -> subprocess.Popen[bytes]:
    """``taskiq worker pg_worker_app:broker`` with its output in ``log``."""
    env = {
        **os.environ,
        "TASKIQ_PG_DSN": dsn,
        "TASKIQ_PG_PREFIX": prefix,
        "PYTHONUNBUFFERED": "1",
    }
    with log.open("ab") as output:
        return subprocess.Popen(
            [*WORKER_COMMAND, "--workers", str(workers)],
            cwd=TESTS_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(worker: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
        worker.wait(30)


@pytest.fixture
async def client(pg_dsn: str, prefix: str) -> AsyncIterator[AsyncpgBroker]:
    broker = make_broker(pg_dsn, prefix)
    await broker.startup()
    yield broker
    await broker.shutdown()


async def results_of(client: AsyncpgBroker, count: int, **kwargs: float) -> list[int]:
    """Send ``count`` additions and wait for every result."""
    add = client.find_task("pg:add") or client.register_task(_add, task_name="pg:add")
    tasks = [await add.kiq(n, 1, **kwargs) for n in range(count)]
    results = [await task.wait_result(timeout=DEADLINE) for task in tasks]
    return [result.return_value for result in results]


async def _add(a: int, b: int, pause: float = 0.0) -> int:  # the client's signature only
    return a + b


async def test_round_trip_under_two_worker_processes(
    client: AsyncpgBroker, pg_dsn: str, prefix: str, tmp_path: Path
) -> None:
    worker = start_worker(pg_dsn, prefix, tmp_path / "w.log", workers=2)
    try:
        assert await results_of(client, 40) == [n + 1 for n in range(40)]
    finally:
        stop(worker)
    assert "Traceback" not in (tmp_path / "w.log").read_text()


async def test_rows_sent_with_no_worker_running_are_taken_when_one_starts(
    client: AsyncpgBroker, pg_dsn: str, prefix: str, tmp_path: Path
) -> None:
    add = client.register_task(_add, task_name="pg:add")
    tasks = [await add.kiq(n, 2) for n in range(10)]
    worker = start_worker(pg_dsn, prefix, tmp_path / "w.log")
    try:
        values = [(await t.wait_result(timeout=DEADLINE)).return_value for t in tasks]
    finally:
        stop(worker)
    assert values == [n + 2 for n in range(10)]


async def test_sigkill_mid_drain_loses_nothing(
    client: AsyncpgBroker, pg_dsn: str, prefix: str, tmp_path: Path
) -> None:
    add = client.register_task(_add, task_name="pg:add")
    tasks = [await add.kiq(n, 3, pause=0.05) for n in range(60)]
    first = start_worker(pg_dsn, prefix, tmp_path / "first.log")
    try:
        await _until(lambda: _done(client, tasks), lambda done: done >= 5)
    finally:
        stop(first, signal.SIGKILL)
    second = start_worker(pg_dsn, prefix, tmp_path / "second.log")
    try:
        values = [(await t.wait_result(timeout=DEADLINE)).return_value for t in tasks]
    finally:
        stop(second)
    assert values == [n + 3 for n in range(60)]


async def test_a_row_left_processing_is_reclaimed(client: AsyncpgBroker, pg_dsn: str) -> None:
    """A row claimed by a worker that died (lease not renewed) is delivered again."""
    add = client.register_task(_add, task_name="pg:add")
    await add.kiq(1, 1)
    table = client.tables.messages
    await client.pool.execute(
        f"UPDATE {table} SET state = 'processing', worker = 'dead:1', delivery_count = 1, "
        "lease_until = now() - interval '1 second'"
    )
    consumer = AsyncpgBroker(pg_dsn, table_name=table, poll_interval=0.2, lease=2.0)
    await consumer.startup()
    try:
        deliveries = consumer.listen()
        again = await asyncio.wait_for(deliveries.__anext__(), DEADLINE)
        assert not isinstance(again, bytes)
        await again.ack()  # type: ignore[misc]
        await deliveries.aclose()
        count = await client.pool.fetchval(f"SELECT count(*) FROM {table}")
        assert count == 0
    finally:
        await consumer.shutdown()


async def _done(client: AsyncpgBroker, tasks: list[object]) -> int:
    return sum([await t.is_ready() for t in tasks])  # type: ignore[attr-defined]


async def _until(probe: Callable[[], object], ok: Callable[[int], bool]) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while loop.time() < end:
        if ok(await probe()):  # type: ignore[misc]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")
