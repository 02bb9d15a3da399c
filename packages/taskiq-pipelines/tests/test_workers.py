"""Pipelines under real `taskiq worker` processes, on Redis Streams and on RabbitMQ.

Results and fan-in sets are in Redis for both. Covered: the README example, a
large map fanned in by its last member, a member SIGKILLed mid-run (the
workflow still completes, and its callback runs once), a chord's error callback.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from pipeline_worker_app import REDIS_URL, App, build
from redis.asyncio import Redis
from taskiq_pipelines import Group, Pipeline, PipelineError

pytestmark = pytest.mark.slow
TESTS_DIR = Path(__file__).parent
#: Members of the large fan-in: 2,000 by default (10,000 took 39 s on a loaded 2-core box);
#: TQ_PIPELINE_FAN_IN_MEMBERS=10000 runs the full size.
FAN_IN_MEMBERS = int(os.environ.get("TQ_PIPELINE_FAN_IN_MEMBERS", "2000"))


@pytest.fixture(params=["redis", "rabbitmq"])
def transport(request: pytest.FixtureRequest, require_service: Callable[..., None]) -> str:
    require_service("redis", "127.0.0.1", 6379)
    if request.param == "rabbitmq":
        require_service("RabbitMQ", "127.0.0.1", 5672)
    return str(request.param)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis: Redis, transport: str) -> AsyncIterator[str]:
    name = f"tq-pipe-{uuid.uuid4().hex[:12]}"
    yield name
    keys = [key async for key in redis.scan_iter(match=f"*{name}*", count=1000)]
    for start in range(0, len(keys), 1000):
        await redis.delete(*keys[start : start + 1000])
    if transport == "rabbitmq":
        await _delete_rabbit_topology(name)


async def _delete_rabbit_topology(prefix: str) -> None:
    import aio_pika

    if shutil.which("rabbitmqctl") is None:
        return
    listing_process = await asyncio.create_subprocess_exec(
        *("rabbitmqctl", "-q", "list_queues", "name"), stdout=subprocess.PIPE
    )
    listing = (await listing_process.communicate())[0].decode().split()
    connection = await aio_pika.connect(
        os.environ.get("TQ_RABBIT_URL", "amqp://guest:guest@127.0.0.1:5672/")
    )
    try:
        channel = await connection.channel()
        for name in listing:
            if name.startswith(prefix):
                await channel.queue_delete(name)
        await channel.exchange_delete(prefix)
    finally:
        await connection.close()


@pytest.fixture
async def app(transport: str, prefix: str) -> AsyncIterator[App]:
    """The client side, with a `taskiq worker` (two children) serving the same app."""
    client = build(transport, prefix)
    await client.broker.startup()
    env = {**os.environ, "TQ_TRANSPORT": transport, "TQ_PREFIX": prefix}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR), env.get("PYTHONPATH", "")])
    worker = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "taskiq", "worker", "pipeline_worker_app:broker"),
        *("--workers", "2"),
        cwd=TESTS_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield client
    finally:
        worker.send_signal(signal.SIGTERM)
        _, errors = await asyncio.wait_for(worker.communicate(), 40)
        await client.broker.shutdown()
    assert worker.returncode == 0, errors.decode()[-3000:]


async def test_readme_example(app: App, transport: str, prefix: str) -> None:
    tasks = app.tasks
    pipe = (
        Pipeline(app.broker, tasks.add_one)
        .call_next(tasks.repeat, reps=4)
        .map(tasks.add_one)
        .filter(tasks.check)
    )
    task = await pipe.kiq(1)
    assert (await task.wait_result(timeout=50)).return_value == [3, 3, 3, 3]
    # `taskiq task APP ID` shows a fan-in step by its aggregate id, and any member.
    for step_id, value in [(task.step_ids[2], [3, 3, 3, 3]), (f"{task.step_ids[2]}.0", 3)]:
        record = await _taskiq_task(transport, prefix, step_id)
        assert record["status"] == "succeeded"
        assert record["result"]["return_value"] == value


async def _taskiq_task(transport: str, prefix: str, task_id: str) -> dict[str, Any]:
    env = {**os.environ, "TQ_TRANSPORT": transport, "TQ_PREFIX": prefix}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR), env.get("PYTHONPATH", "")])
    command = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "taskiq", "task", "pipeline_worker_app:broker", task_id, "--json"),
        cwd=TESTS_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(command.communicate(), 40)
    assert command.returncode == 0, err.decode()
    return dict(json.loads(out))


@pytest.mark.timeout(300)
async def test_large_map_is_fanned_in_by_its_last_member(
    app: App, redis: Redis, prefix: str
) -> None:
    pipe = Pipeline(app.broker, app.tasks.numbers).map(app.tasks.add_one).call_next(app.count_runs)
    task = await pipe.kiq(FAN_IN_MEMBERS)
    result = await task.wait_result(timeout=280)
    assert result.return_value == FAN_IN_MEMBERS * (FAN_IN_MEMBERS + 1) // 2
    assert int(await redis.get(f"{prefix}:callback_runs")) == 1
    state = await task.state()
    assert state.steps[1].members_done == FAN_IN_MEMBERS


@pytest.mark.timeout(120)
async def test_a_member_killed_mid_run_completes_once(app: App, redis: Redis, prefix: str) -> None:
    members = 40
    pipe = (
        Pipeline(app.broker, app.tasks.numbers)
        .map(app.die_once, victim=7)
        .call_next(app.count_runs)
    )
    task = await pipe.kiq(members)
    result = await task.wait_result(timeout=100)
    assert result.return_value == sum(2 * i for i in range(members))
    assert await redis.get(f"{prefix}:killed") == b"1"
    assert int(await redis.get(f"{prefix}:callback_runs")) == 1


async def test_chord_error_callback(app: App, redis: Redis, prefix: str) -> None:
    tasks = app.tasks
    group = Group().add(tasks.add_one).add(tasks.fail_on, bad=2).add(tasks.to_text)
    pipe = Pipeline(app.broker, tasks.add_one).group(group, on_error=app.store_failure)
    task = await pipe.call_next(tasks.describe).kiq(1)
    result = await task.wait_result(timeout=50)
    assert isinstance(result.error, PipelineError)
    assert result.error.task_id == f"{task.step_ids[1]}.1"
    assert result.error.error == "ValueError: bad value 2"

    async def failures() -> list[bytes]:
        return list(await redis.lrange(f"{prefix}:failures", 0, -1))

    for _ in range(200):
        if await failures():
            break
        await asyncio.sleep(0.1)
    [failure] = [json.loads(raw) for raw in await failures()]
    assert failure["task_id"] == result.error.task_id
    assert failure["step"] == 1
