"""`taskiq task APP ID` as a process against a real `taskiq worker` on Redis.

queued (no worker yet) -> started (naming the worker) -> succeeded with the result;
failed with the error; retrying then failed; dead-lettered with the reason; an unknown
id exits 1 with one line; a broker with task states off records none.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from taskiq import AsyncKicker
from taskiq_redis import RedisAsyncResultBackend, RedisBroker

pytestmark = pytest.mark.slow

DEADLINE = 30.0

APP = textwrap.dedent(
    """
    import asyncio
    import os

    from redis.asyncio import Redis
    from taskiq import SmartRetryMiddleware
    from taskiq_redis import RedisAsyncResultBackend, RedisBroker

    URL = os.environ["TQ_URL"]
    QUEUE = os.environ["TQ_QUEUE"]


    def make(queue: str) -> RedisBroker:
        return (
            RedisBroker(URL, queue_name=queue, xread_block=200)
            .with_result_backend(RedisAsyncResultBackend(URL, prefix_str=queue))
            .with_middlewares(SmartRetryMiddleware(default_delay=0.2))
        )


    broker = make(QUEUE)
    quiet = make(QUEUE + "-quiet").with_task_states(False)


    @broker.task(task_name="add")
    async def add(a: int, b: int) -> int:
        return a + b


    @broker.task(task_name="boom")
    async def boom() -> None:
        raise ValueError("bad input on purpose")


    @broker.task(task_name="flaky", retry_on_error=True, max_retries=2)
    async def flaky() -> None:
        raise ConnectionError("service down on purpose")


    @broker.task(task_name="hold")
    async def hold() -> str:
        async with Redis.from_url(URL) as client:
            while not await client.exists(QUEUE + ":release"):
                await asyncio.sleep(0.02)
        return "held"


    @quiet.task(task_name="add")
    async def quiet_add(a: int, b: int) -> int:
        return a + b
    """,
)


class Ops:
    """The application directory; runs `taskiq task` and `taskiq worker` there."""

    def __init__(self, app_dir: Path, url: str, queue: str) -> None:
        self.app_dir, self.url, self.queue = app_dir, url, queue
        (app_dir / "states_app.py").write_text(APP)
        self.env = {**os.environ, "TQ_URL": url, "TQ_QUEUE": queue}
        self.workers: list[subprocess.Popen[bytes]] = []

    def task(
        self, task_id: str, *extra: str, app: str = "broker"
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "taskiq", "task", f"states_app:{app}", task_id, *extra],
            cwd=self.app_dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=DEADLINE,
            check=False,
        )

    def state(self, task_id: str, app: str = "broker") -> dict[str, Any]:
        done = self.task(task_id, "--json", app=app)
        assert done.returncode == 0, done.stderr
        document: dict[str, Any] = json.loads(done.stdout)
        return document

    async def until(
        self,
        task_id: str,
        check: Callable[[dict[str, Any]], bool],
        app: str = "broker",
    ) -> dict[str, Any]:
        end = time.monotonic() + DEADLINE
        state = self.state(task_id, app)
        while not check(state):
            assert time.monotonic() < end, f"state never matched: {state}"
            await asyncio.sleep(0.1)
            state = self.state(task_id, app)
        return state

    def worker(self, app: str = "broker") -> None:
        self.workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "taskiq", "worker", f"states_app:{app}", "--workers", "1"],
                cwd=self.app_dir,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            ),
        )

    def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def ops(tmp_path: Path, redis_url: str, queue_name: str) -> Iterator[Ops]:
    app = Ops(tmp_path, redis_url, queue_name)
    yield app
    app.stop()
    sys.modules.pop("states_app", None)


@pytest.fixture
async def client(redis_url: str, queue_name: str) -> AsyncIterator[RedisBroker]:
    broker = RedisBroker(redis_url, queue_name=queue_name).with_result_backend(
        RedisAsyncResultBackend(redis_url, prefix_str=queue_name),
    )
    await broker.startup()
    yield broker
    await broker.shutdown()


async def _send(client: RedisBroker, name: str, *args: Any, **labels: Any) -> str:
    """Send ``name`` by name; a client without the app's code gives its labels."""
    task = await AsyncKicker(name, client, labels).kiq(*args)
    assert await task.get_state() is not None  # sends the pending "queued" first
    return task.task_id


async def test_queued_then_started_then_succeeded(
    ops: Ops,
    client: RedisBroker,
    redis_client: Redis,
    queue_name: str,
) -> None:
    task_id = await _send(client, "hold")
    queued = ops.state(task_id)
    assert queued["status"] == "queued"
    assert queued["result"] is None
    ops.worker()
    started = await ops.until(task_id, lambda state: state["status"] == "started")
    worker = started["worker"]
    assert worker["index"] == 0
    assert worker["pid"] not in {os.getpid(), ops.workers[0].pid}  # the child, not the supervisor
    await redis_client.set(f"{queue_name}:release", 1)
    done = await ops.until(task_id, lambda state: state["status"] == "succeeded")
    assert [step["status"] for step in done["timeline"]] == ["queued", "started", "succeeded"]
    assert done["result"]["return_value"] == "held"
    human = ops.task(task_id)
    assert human.returncode == 0
    assert f"Task {task_id}: succeeded" in human.stdout
    assert "Result: 'held'" in human.stdout


async def test_a_failure_shows_the_error_and_a_retry_its_attempt(
    ops: Ops,
    client: RedisBroker,
) -> None:
    ops.worker()
    boom = await _send(client, "boom")
    flaky = await _send(client, "flaky", retry_on_error=True, max_retries=2)
    failed = await ops.until(boom, lambda state: state["status"] == "failed")
    assert failed["error"] == "ValueError: bad input on purpose"
    assert failed["result"]["error"] == "ValueError: bad input on purpose"
    human = ops.task(boom)
    assert "Error: ValueError: bad input on purpose" in human.stdout
    retried = await ops.until(flaky, lambda state: state["status"] == "failed")
    steps = [step["status"] for step in retried["timeline"]]
    assert steps == ["queued", "started", "retrying", "queued", "started", "failed"]
    retrying = retried["timeline"][2]
    assert retrying["attempt"] == 2
    assert retrying["next_run"] is not None
    assert retried["attempt"] == 2


async def test_a_dead_lettered_task_shows_the_reason(ops: Ops, client: RedisBroker) -> None:
    ops.worker()
    unknown = await _send(client, "nope")
    dead = await ops.until(unknown, lambda state: state["status"] == "dead_lettered")
    assert dead["error"] == "unknown task 'nope'"
    assert dead["timeline"][0]["status"] == "queued"


def test_an_unknown_id_exits_1_with_one_line(ops: Ops) -> None:
    done = ops.task("no-such-task")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "no task 'no-such-task' is known to RedisAsyncResultBackend" in done.stderr


async def test_a_broker_with_states_off_records_none(
    ops: Ops,
    redis_url: str,
    queue_name: str,
) -> None:
    quiet = RedisBroker(redis_url, queue_name=f"{queue_name}-quiet").with_result_backend(
        RedisAsyncResultBackend(redis_url, prefix_str=f"{queue_name}-quiet"),
    )
    quiet.with_task_states(False)
    await quiet.startup()
    try:
        ops.worker(app="quiet")
        task = await AsyncKicker("add", quiet, {}).kiq(1, 2)
        assert (await task.wait_result(timeout=DEADLINE)).return_value == 3
        assert await task.get_state() is None
    finally:
        await quiet.shutdown()
    assert ops.task(task.task_id, app="quiet").returncode == 1
