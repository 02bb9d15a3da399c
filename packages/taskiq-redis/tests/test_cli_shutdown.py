"""Under `taskiq worker`: bounded prefetch; a graceful stop hands back unstarted work at once."""

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


def _cli_worker(redis_url: str, queue_name: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TQ_BROKER_URL": redis_url,
        "TQ_MARKS_URL": redis_url,
        "TQ_QUEUE": queue_name,
        "TQ_IDLE_MS": "60000",  # redelivery by timeout would take a minute
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
            "1",
            "--max-async-tasks",
            "1",
            "--max-prefetch",
            "1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_sigterm_returns_prefetched_tasks_long_before_the_idle_timeout(
    client: RedisBroker,
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    first = _cli_worker(redis_url, queue_name)
    second: subprocess.Popen[bytes] | None = None
    try:
        for number in range(4):
            await kicker(client).kiq(number, seconds=1.5)

        async def one_running_and_prefetch_bounded() -> bool:
            started = await marks(redis_client, queue_name, "started")
            return len(started) == 1

        await eventually(one_running_and_prefetch_bounded, what="first task running")
        pending = await redis_client.xpending(client.keys.stream(), client.consumer_group_name)
        assert int(pending["pending"]) <= 3, "the worker fetched more than it may hold"
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0
        second = _cli_worker(redis_url, queue_name)

        async def all_done() -> bool:
            return len(await marks(redis_client, queue_name, "done")) == 4

        await eventually(all_done, timeout=40, what="every task done after the handover")
        started = await marks(redis_client, queue_name, "started")
        assert started == {0: 1, 1: 1, 2: 1, 3: 1}, "a task was run twice or lost"
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=20)
