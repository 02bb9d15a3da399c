"""Events on Redis: the contract suite, and ``taskiq events`` as a process tailing a worker."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from taskiq import Receiver
from taskiq.testing.events_contract import EventsContract
from taskiq_redis import RedisAsyncResultBackend, RedisBroker


class TestRedisEvents(EventsContract):
    @pytest.fixture
    async def broker(self, redis_url: str, queue_name: str) -> AsyncIterator[RedisBroker]:
        backend = RedisAsyncResultBackend(redis_url, prefix_str=queue_name)
        broker = RedisBroker(redis_url, queue_name=queue_name).with_result_backend(backend)
        await broker.startup()
        yield broker
        await broker.shutdown()


APP = """
from taskiq_redis import RedisAsyncResultBackend, RedisBroker

broker = RedisBroker({url!r}, queue_name={queue!r}).with_result_backend(
    RedisAsyncResultBackend({url!r}, prefix_str={queue!r})
)
"""


async def test_taskiq_events_prints_json_lines_of_a_running_task(
    redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    (tmp_path / "events_app.py").write_text(APP.format(url=redis_url, queue=queue_name))
    tail = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "taskiq",
        "events",
        "events_app:broker",
        "--app-dir",
        str(tmp_path),
        "--json",
        "--count",
        "3",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert tail.stderr is not None
        listening = await asyncio.wait_for(tail.stderr.readline(), 60)
        assert b"Listening for events" in listening
        backend = RedisAsyncResultBackend(redis_url, prefix_str=queue_name)
        broker = RedisBroker(redis_url, queue_name=queue_name).with_result_backend(backend)

        async def add(a: int, b: int) -> int:
            return a + b

        task = broker.register_task(add, task_name="events:add")
        await broker.startup()
        sent = broker.formatter.dumps(task.kicker()._prepare_message(1, 2))
        receiver = Receiver(broker)
        await receiver.callback(sent.message)
        await receiver._events.detach()
        await broker.shutdown()
        out, _ = await asyncio.wait_for(tail.communicate(), 60)
    finally:
        if tail.returncode is None:
            tail.kill()
            await tail.wait()
    assert tail.returncode == 0
    events = [json.loads(text) for text in out.decode().splitlines()]
    assert [item["kind"] for item in events] == ["task-received", "task-started", "task-succeeded"]
    assert {item["task_id"] for item in events} == {sent.task_id}
    assert events[0]["worker"]["pid"] == os.getpid()
