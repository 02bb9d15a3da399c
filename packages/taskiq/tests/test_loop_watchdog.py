"""The loop watchdog names a task that blocks the event loop; keep-alive renews meanwhile."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest
from taskiq import InMemoryBroker
from taskiq.receiver import running
from taskiq.receiver.keepalive import BlockedLoopKeepAlive
from taskiq.receiver.loop_watchdog import LoopHeartbeat, LoopWatchdog

WATCHDOG_LOGGER = "taskiq.receiver.loop_watchdog"


def _blocked_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == WATCHDOG_LOGGER and record.levelno == logging.WARNING
    ]


async def test_a_task_blocking_the_loop_is_named_in_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = InMemoryBroker()

    @broker.task(task_name="hog")
    async def hog() -> None:
        time.sleep(1.0)  # noqa: ASYNC251 - the bug the watchdog reports

    await broker.startup()
    watchdog = LoopWatchdog.start_here(threshold=0.3)
    try:
        with caplog.at_level(logging.INFO, logger=WATCHDOG_LOGGER):
            task = await hog.kiq()
            await task.wait_result(timeout=10)
            await asyncio.sleep(0.5)  # the loop runs again: the watchdog says so
    finally:
        watchdog.stop()
        await broker.shutdown()
    [warning] = _blocked_warnings(caplog)
    assert "'hog'" in warning
    assert f"id {task.task_id}" in warning
    assert "test_loop_watchdog.py" in warning, "the warning says where the loop is stuck"
    assert any("runs again" in record.getMessage() for record in caplog.records)
    assert running.running_tasks() == [], "finished runs must be forgotten"


async def test_awaiting_tasks_and_blocking_outside_tasks(caplog: pytest.LogCaptureFixture) -> None:
    broker = InMemoryBroker()

    @broker.task(task_name="polite")
    async def polite() -> None:
        await asyncio.sleep(1.0)

    await broker.startup()
    watchdog = LoopWatchdog.start_here(threshold=0.3)
    try:
        with caplog.at_level(logging.WARNING, logger=WATCHDOG_LOGGER):
            await (await polite.kiq()).wait_result(timeout=10)
            assert _blocked_warnings(caplog) == [], "an awaiting task blocks nothing"
            time.sleep(0.8)  # noqa: ASYNC251 - blocking outside any task
            await asyncio.sleep(0.1)
    finally:
        watchdog.stop()
        await broker.shutdown()
    [warning] = _blocked_warnings(caplog)
    assert "code outside tasks" in warning


class CountingRenewer:
    """Counts renewals and the threads they ran on."""

    def __init__(self) -> None:
        self.renewals = 0
        self.threads: set[int] = set()
        self.closed = threading.Event()

    def renew(self) -> None:
        self.renewals += 1
        self.threads.add(threading.get_ident())

    def close(self) -> None:
        self.closed.set()


async def test_keepalive_renews_only_while_the_loop_is_blocked() -> None:
    renewer = CountingRenewer()
    keeper = BlockedLoopKeepAlive(renewer, 0.2, "test-keepalive").start()
    try:
        await asyncio.sleep(1.0)
        assert renewer.renewals == 0, "a running loop renews by itself"
        time.sleep(1.2)  # noqa: ASYNC251 - block the loop
        assert renewer.renewals >= 3
        assert threading.get_ident() not in renewer.threads
    finally:
        keeper.stop()
    assert await asyncio.to_thread(renewer.closed.wait, 5)


async def test_keepalive_stops_renewing_past_the_blocking_tasks_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = InMemoryBroker()
    renewer = CountingRenewer()
    seen: list[int] = []

    @broker.task(task_name="overdue", timeout=0.5)
    async def overdue() -> None:
        time.sleep(0.6)  # noqa: ASYNC251 - within the timeout, renewals happen
        seen.append(renewer.renewals)
        time.sleep(1.0)  # noqa: ASYNC251 - past the timeout, none do

    await broker.startup()
    keeper = BlockedLoopKeepAlive(renewer, 0.1, "test-keepalive").start()
    try:
        with caplog.at_level(logging.WARNING, logger="taskiq.receiver.keepalive"):
            await (await overdue.kiq()).wait_result(timeout=10)
    finally:
        keeper.stop()
        await broker.shutdown()
    assert seen[0] >= 1
    assert renewer.renewals <= seen[0] + 1, "renewed long after the timeout"
    assert any("past its timeout" in record.getMessage() for record in caplog.records)


async def test_one_heartbeat_per_loop() -> None:
    assert LoopHeartbeat.here() is LoopHeartbeat.here()
    await asyncio.sleep(0.3)
    assert LoopHeartbeat.here().blocked_for() < 0.3
