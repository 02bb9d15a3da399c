"""Rate and concurrency limits across real ``taskiq worker --workers 2`` processes on Redis."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis_test_helpers import kicker
from taskiq.testing.pace_contract import PaceContract
from taskiq_redis import RedisBroker

pytestmark = pytest.mark.slow

#: Tasks count how many run at once (and the peak) and when each started, in Redis.
APP = """
import asyncio, time
from redis.asyncio import Redis
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

broker = RedisStreamBroker({url!r}, queue_name={queue!r}, xread_block=200).with_result_backend(
    RedisAsyncResultBackend({url!r}, prefix_str={queue!r})
)
marks = Redis.from_url({url!r})
PEAK = "local n = redis.call('INCR', KEYS[1]) " \\
    "if n > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], n) end " \\
    "return n"


@broker.task(task_name="held", concurrency=2)
async def held(seconds: float) -> None:
    await marks.eval(PEAK, 2, {queue!r} + ":running", {queue!r} + ":peak")
    try:
        await asyncio.sleep(seconds)
    finally:
        await marks.decr({queue!r} + ":running")
        await marks.incr({queue!r} + ":done")


@broker.task(task_name="paced", rate_limit="20/s")
async def paced() -> None:
    await marks.rpush({queue!r} + ":starts", repr(time.time()))
"""


class TestRedisPacing(PaceContract):
    @pytest.fixture
    def pace_store(self, results_client: RedisBroker):  # type: ignore[no-untyped-def]
        return results_client.result_backend.pace_store()  # type: ignore[attr-defined]


class Workers:
    def __init__(self, directory: Path, url: str, queue: str) -> None:
        self.directory = directory
        (directory / "limits_app.py").write_text(APP.format(url=url, queue=queue))
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        with (self.directory / f"worker-{len(self.processes)}.log").open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "taskiq",
                    "worker",
                    "limits_app:broker",
                    "--app-dir",
                    str(self.directory),
                    "--workers",
                    "2",
                    "--max-async-tasks",
                    "10",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


@pytest.fixture
def workers(tmp_path: Path, redis_url: str, queue_name: str) -> Iterator[Workers]:
    running = Workers(tmp_path, redis_url, queue_name)
    yield running
    running.stop_all()


async def _until(redis: Redis, key: str, at_least: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        value = int(await redis.get(key) or 0)
        if value >= at_least or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.2)


async def test_concurrency_two_across_two_processes_is_never_exceeded(
    workers: Workers, client: RedisBroker, redis_client: Redis, queue_name: str
) -> None:
    workers.start()
    for _ in range(12):
        await kicker(client, "held").kiq(0.3)
    assert await _until(redis_client, f"{queue_name}:done", 12, 90) == 12
    assert int(await redis_client.get(f"{queue_name}:peak") or 0) == 2
