"""The README's example runs as written under `taskiq worker`, with each broker class.

Only the queue name is made unique (and the broker class swapped for the others).
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis_test_helpers import eventually

README = Path(__file__).parent.parent / "README.md"

pytestmark = pytest.mark.slow


def _app_source() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    return next(block for block in blocks if "broker = RedisBroker(" in block)


async def _subscribed(redis_client: Redis, channel: str) -> None:
    async def anyone() -> bool:
        counts = dict(await redis_client.pubsub_numsub(channel))
        return int(counts.get(channel.encode(), 0)) >= 1

    await eventually(anyone, what="the worker subscribed")


@pytest.mark.parametrize(
    "broker_class",
    ["RedisBroker", "RedisStreamBroker", "ListQueueBroker", "PubSubBroker"],
)
async def test_readme_example_runs_with_taskiq_worker(
    broker_class: str,
    redis_client: Redis,
    queue_name: str,
    tmp_path: Path,
) -> None:
    source = _app_source().replace("example-queue", queue_name)
    (tmp_path / "app.py").write_text(re.sub(r"\bRedisBroker\b", broker_class, source))
    worker = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "taskiq", "worker", "app:broker", "--workers", "1"),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        if broker_class == "PubSubBroker":  # a broadcast reaches only who listens now
            await _subscribed(redis_client, queue_name)
        client = await asyncio.create_subprocess_exec(
            sys.executable,
            "app.py",
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(client.communicate(), 50)
        assert client.returncode == 0, err.decode()
        assert out.decode().strip() == "5"
    finally:
        worker.send_signal(signal.SIGTERM)
        _, errors = await asyncio.wait_for(worker.communicate(), 30)
    assert worker.returncode == 0, errors.decode()
