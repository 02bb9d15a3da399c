"""A task that blocks the event loop runs once: leases are renewed from a thread.

``time.sleep`` inside ``async def`` stops the loop, and with it the lease
renewal on the loop; the helper thread (taskiq_redis.lease_thread) keeps the
leases alive, and the core watchdog logs a WARNING naming the task.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from redis.asyncio import Redis
from redis_test_helpers import eventually, kicker, marks
from taskiq_redis import RedisBroker

from conftest import TESTS_DIR

pytestmark = pytest.mark.slow

#: The lease idle timeout the workers run with (ms); the task blocks 4 times as long.
IDLE_MS = 2000
BLOCK_SECONDS = 8.0


def _cli_workers(redis_url: str, queue_name: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TQ_BROKER_URL": redis_url,
        "TQ_MARKS_URL": redis_url,
        "TQ_QUEUE": queue_name,
        "TQ_IDLE_MS": str(IDLE_MS),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "taskiq",
            "worker",
            "redis_worker_app:broker",
            "--app-dir",
            str(TESTS_DIR),
            "--workers",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def _run_blocking_task(
    client: RedisBroker, redis_url: str, queue_name: str, redis_client: Redis, **labels: object
) -> tuple[dict[int, int], str]:
    worker = _cli_workers(redis_url, queue_name)
    try:
        await kicker(client, "block_loop", **labels).kiq(1, seconds=BLOCK_SECONDS)
        await kicker(client).kiq(2)  # a short task behind it

        async def all_done() -> bool:
            return len(await marks(redis_client, queue_name, "done")) == 2

        await eventually(all_done, timeout=60, what="both tasks done")

        # Give a wrongly redelivered copy the time to start before counting.
        async def no_entry_pending() -> bool:
            pending = await redis_client.xpending(client.keys.stream(), client.consumer_group_name)
            return int(pending["pending"]) == 0

        await eventually(no_entry_pending, timeout=30, what="every entry settled")
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=60)
        return await marks(redis_client, queue_name, "started"), stderr.decode(errors="replace")
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate(timeout=20)


async def test_a_task_blocking_the_loop_runs_exactly_once_and_is_named(
    client: RedisBroker,
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    started, log = await _run_blocking_task(client, redis_url, queue_name, redis_client)
    assert started == {1: 1, 2: 1}, f"a task ran twice or never: {started}\n{log[-3000:]}"
    assert "The event loop has been blocked" in log, log[-3000:]
    assert "'block_loop'" in log, log[-3000:]


async def test_leases_are_kept_no_longer_than_the_timeout_label(
    client: RedisBroker,
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    """Past its ``timeout`` a task blocking the loop loses its lease: another worker runs it."""
    started, log = await _run_blocking_task(client, redis_url, queue_name, redis_client, timeout=1)
    assert started[1] >= 2, f"the overdue task was not delivered again: {started}\n{log[-3000:]}"
    assert "past its timeout" in log, log[-3000:]
