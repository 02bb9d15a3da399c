"""Taskiq's getting-started "distributed run", end to end with a real ``taskiq worker``.

The guide's ``broker.py`` (RabbitMQ broker, Redis result backend) is written
to a temporary directory with our own queue and key names; the worker runs as
``python -m taskiq worker broker:broker`` and the client as ``python broker.py``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

BROKER_PY = """
import asyncio

from taskiq_aio_pika import AioPikaBroker
from taskiq_redis import RedisAsyncResultBackend

broker = AioPikaBroker(
    "amqp://guest:guest@127.0.0.1:5672",
    result_backend=RedisAsyncResultBackend("redis://127.0.0.1:6379", prefix_str="{name}"),
    exchange_name="{name}",
    queue_name="{name}",
)


@broker.task
async def add_one(value: int) -> int:
    return value + 1


async def main() -> None:
    await broker.startup()
    task = await add_one.kiq(1)
    result = await task.wait_result(timeout=60)
    print(f"Task execution took: {{result.execution_time}} seconds.")
    if not result.is_err:
        print(f"Returned value: {{result.return_value}}")
    else:
        print("Error found while executing task.")
    await broker.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
"""


@pytest.fixture
def project(
    tmp_path: Path,
    require_service: Callable[[str, str, int], None],
) -> Iterator[tuple[Path, str]]:
    require_service("redis", "127.0.0.1", 6379)
    require_service("rabbitmq", "127.0.0.1", 5672)
    pytest.importorskip("taskiq_aio_pika")
    pytest.importorskip("taskiq_redis")
    name = f"taskiq-compat-gs-{uuid.uuid4().hex}"
    (tmp_path / "broker.py").write_text(textwrap.dedent(BROKER_PY).format(name=name))
    yield tmp_path, name
    asyncio.run(_cleanup(name))


async def _cleanup(name: str) -> None:
    import aio_pika
    from redis.asyncio import Redis

    connection = await aio_pika.connect_robust("amqp://guest:guest@127.0.0.1:5672")
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)
        await channel.exchange_delete(name)
    client = Redis.from_url("redis://127.0.0.1:6379")
    keys = [key async for key in client.scan_iter(f"{name}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def test_getting_started_distributed_run_prints_the_returned_value(
    project: tuple[Path, str],
) -> None:
    directory, _ = project
    worker = subprocess.Popen(
        [sys.executable, "-m", "taskiq", "worker", "broker:broker", "--workers", "1"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        client = subprocess.run(
            [sys.executable, "broker.py"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        assert client.returncode == 0, client.stderr
        assert "Returned value: 2" in client.stdout
        assert "Task execution took:" in client.stdout
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
