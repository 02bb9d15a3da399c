"""Delay, priority, leases and the delivery limit, in process on a fresh file."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator

import pytest
from taskiq.api import run_receiver_task
from taskiq.control.dead_letters import dead_letters_of
from taskiq.testing.dead_letter_contract import message_for, settle, taken
from taskiq_sqlite import SQLiteBroker, SQLiteResultBackend


async def _started(db_file: str, **options: float) -> SQLiteBroker:
    broker = SQLiteBroker(db_file, **options).with_result_backend(SQLiteResultBackend(db_file))
    broker.is_worker_process = True
    await broker.startup()
    return broker


@pytest.fixture
async def broker(db_file: str) -> AsyncIterator[SQLiteBroker]:
    started = await _started(db_file)
    yield started
    await started.shutdown()


async def test_a_delayed_task_waits_then_runs(broker: SQLiteBroker) -> None:
    @broker.task(task_name="t:now")
    async def now() -> float:
        return time.time()

    runner = asyncio.create_task(run_receiver_task(broker))
    try:
        sent = time.time()
        task = await now.kicker().with_labels(delay=0.5).kiq()
        ran_at = (await task.wait_result(timeout=10)).return_value
        assert 0.5 <= ran_at - sent < 3
    finally:
        runner.cancel()


async def test_higher_priority_runs_first(broker: SQLiteBroker) -> None:
    order: list[int] = []

    all_ran = asyncio.Event()

    @broker.task(task_name="t:note")
    async def note(level: int) -> None:
        order.append(level)
        if len(order) == 6:
            all_ran.set()

    for level in (0, 5, 1, 9, 5):
        await note.kicker().with_labels(priority=level).kiq(level)
    await note.kicker().with_labels(priority="not a number").kiq(-1)
    runner = asyncio.create_task(run_receiver_task(broker, max_async_tasks=1, max_prefetch=0))
    try:
        await asyncio.wait_for(all_ran.wait(), 10)
    finally:
        runner.cancel()
    assert order == [9, 5, 5, 1, 0, -1]


async def test_a_live_worker_keeps_its_delivery_past_the_lease(db_file: str) -> None:
    """The lease thread renews, even while a task blocks the event loop."""
    holder = await _started(db_file, lease=0.4)
    other = await _started(db_file, lease=0.4)
    try:
        await holder.kick(message_for(holder))
        async with taken(holder, 1) as [delivery]:
            time.sleep(1.5)  # noqa: ASYNC251 - a task blocking the loop for almost four leases
            other_listen = other.listen()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(other_listen.__anext__(), 1.5)
            await other_listen.aclose()
            await settle(delivery.ack())
        with sqlite3.connect(db_file) as conn:
            assert conn.execute("SELECT COUNT(*) FROM taskiq_messages").fetchone() == (0,)
    finally:
        await other.shutdown()
        await holder.shutdown()


async def test_a_delivery_never_settled_is_dead_lettered_after_max_deliveries(
    db_file: str,
) -> None:
    broker = await _started(db_file, lease=0.2, max_deliveries=2)
    try:
        sent = message_for(broker)
        await broker.kick(sent)
        for _ in range(2):  # delivered twice, settled never (the worker "died")
            async with taken(broker, 1) as [delivery]:
                assert delivery.data == sent.message
            with sqlite3.connect(db_file) as conn:  # as if its renewals had stopped
                conn.execute("UPDATE taskiq_messages SET available_at = 0, owner = 'gone'")
        store = dead_letters_of(broker)
        listen = broker.listen()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(listen.__anext__(), 2.5)
        await listen.aclose()
        [letter] = (await store.list()).letters
        assert (letter.reason, letter.delivery_count) == ("failed 2 times", 2)
        assert letter.task_id == sent.task_id
    finally:
        await broker.shutdown()


async def test_shutdown_hands_unfinished_deliveries_back(db_file: str) -> None:
    broker = await _started(db_file)
    await broker.kick(message_for(broker))
    async with taken(broker, 1):
        await broker.shutdown()
    with sqlite3.connect(db_file) as conn:
        row = conn.execute("SELECT state, owner, deliveries FROM taskiq_messages").fetchone()
    assert row == (0, None, 0)
