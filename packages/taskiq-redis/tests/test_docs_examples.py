"""The complete examples in docs/brokers/redis.md run as written (names made unique)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

DOC = Path(__file__).parents[3] / "docs" / "brokers" / "redis.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


async def test_schedule_example_plans_and_unschedules(
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    source = next(block for block in _blocks() if "async def plan()" in block)
    namespace: dict[str, Any] = {}
    exec(compile(source.replace('"schedule"', repr(queue_name)), str(DOC), "exec"), namespace)
    await namespace["plan"]()
    stored = await namespace["source"].get_schedules()
    assert sorted(schedule.args[0] for schedule in stored) == ["every five minutes", "once"]
    await namespace["source"].shutdown()


async def test_result_backend_example_builds_a_working_broker(redis_url: str) -> None:
    source = next(block for block in _blocks() if "RedisAsyncResultBackend(\n" in block)
    namespace: dict[str, Any] = {}
    exec(compile(source, str(DOC), "exec"), namespace)
    broker = namespace["broker"]
    await broker.startup()
    assert broker.result_backend is namespace["backend"]
    await broker.shutdown()


async def test_cluster_and_sentinel_example_constructs_without_connecting() -> None:
    source = next(block for block in _blocks() if "RedisStreamClusterBroker(" in block)
    source = source.replace("10.0.0.1", "127.0.0.1").replace("10.0.0.2", "127.0.0.1")
    namespace: dict[str, Any] = {}
    exec(compile(source, str(DOC), "exec"), namespace)
    assert namespace["cluster_broker"].keys.stream() == "{orders}"
    assert namespace["sentinel_broker"].queue_name == "orders"
