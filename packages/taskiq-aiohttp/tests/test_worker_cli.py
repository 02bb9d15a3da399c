"""A real `taskiq worker` process starts the aiohttp app, runs a task with it, cleans it up.

The app's startup opens a Redis client; the task writes through it; the app's
cleanup writes a marker before closing it. The test reads all three from Redis.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from taskiq.kicker import AsyncKicker
from taskiq_redis import RedisStreamBroker

HERE = Path(__file__).parent
REDIS_URL = "redis://127.0.0.1:6379"
DEADLINE = 45.0

pytestmark = pytest.mark.slow


@pytest.fixture
def queue(require_service: Callable[[str, str, int], None]) -> Iterator[str]:
    require_service("redis", "127.0.0.1", 6379)
    name = f"aiohttp-worker-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"*{name}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _wait_for_key(client: redis.Redis, key: str, worker: subprocess.Popen[bytes]) -> bytes:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = client.get(key)
        if isinstance(value, bytes):
            return value
        assert worker.poll() is None, "the worker died"
        time.sleep(0.05)
    raise TimeoutError(f"{key} never appeared")


@pytest.fixture
def worker(queue: str, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`taskiq worker aiohttp_redis_worker:broker` on this test's queue; killed if still alive."""
    env = {**os.environ, "REDIS_URL": REDIS_URL, "TASKIQ_QUEUE": queue}
    command = [sys.executable, "-m", "taskiq", "worker", "aiohttp_redis_worker:broker"]
    command += ["--workers", "1", "--app-dir", str(HERE)]
    with (tmp_path / "worker.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=HERE, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
            sys.stderr.write((tmp_path / "worker.log").read_text())


async def _kick(queue: str, value: str) -> None:
    """Send the task by name from a client broker, as the web server would."""
    broker = RedisStreamBroker(REDIS_URL, queue_name=queue)
    await broker.startup()
    try:
        await AsyncKicker("aiohttp_redis_worker:remember", broker, {}).kiq(value)
    finally:
        await broker.shutdown()


def test_worker_process_runs_app_startup_task_and_cleanup(
    queue: str, worker: subprocess.Popen[bytes]
) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        _wait_for_key(client, f"{queue}:started", worker)
        asyncio.run(_kick(queue, "from-the-test"))
        assert _wait_for_key(client, f"{queue}:value", worker) == b"from-the-test"
        assert client.get(f"{queue}:cleaned-up") is None
        worker.terminate()
        assert worker.wait(timeout=DEADLINE) == 0
        assert client.get(f"{queue}:cleaned-up") is not None
    finally:
        client.close()
