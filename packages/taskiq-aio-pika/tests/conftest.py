"""Fixtures for tests against the shared RabbitMQ at 127.0.0.1:5672.

Every test gets a unique name prefix; its exchanges and queues (including delay
and dead-letter queues) are deleted afterwards, and its brokers shut down.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).parent))

from pika_helpers import (
    RABBIT_URL,
    REDIS_URL,
    BrokerFactory,
    Names,
    RecordList,
    WorkerStarter,
    delete_topology,
    rabbitmqctl,
)
from taskiq_aio_pika import AioPikaBroker

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@functools.cache
def rabbitmqctl_problem() -> str | None:
    """Why rabbitmqctl cannot inspect the local server, or None when it can."""
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not on PATH"
    try:
        rabbitmqctl("list_vhosts")
    except (subprocess.SubprocessError, OSError) as exc:
        return f"rabbitmqctl cannot reach the server ({exc})"
    return None


@pytest.fixture
def rabbit(require_service: Callable[[str, str, int], None]) -> str:
    """The RabbitMQ URL; skips (fails under CI) without the server or rabbitmqctl.

    The tests read queue counters and close their own connections with
    rabbitmqctl, so they need it on the same machine as the server.
    """
    require_service("RabbitMQ", "127.0.0.1", 5672)
    problem = rabbitmqctl_problem()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"CI=true and {problem}", pytrace=False)
        pytest.skip(problem)
    return RABBIT_URL


@pytest.fixture
async def names(rabbit: str) -> AsyncIterator[Names]:
    chosen = Names(f"tq-pika-{uuid.uuid4().hex[:12]}")
    yield chosen
    await delete_topology(chosen.prefix)


@pytest.fixture
async def make_broker(rabbit: str, names: Names) -> AsyncIterator[BrokerFactory]:
    """Build and start brokers on this test's names; all are shut down afterwards."""
    started: list[AioPikaBroker] = []

    async def factory(start: bool = True, **kwargs: Any) -> AioPikaBroker:
        kwargs.setdefault("exchange_name", names.exchange)
        kwargs.setdefault("queue_name", names.queue)
        kwargs.setdefault("connection_name", f"{names.prefix}-client")
        broker = AioPikaBroker(kwargs.pop("url", rabbit), **kwargs)
        if start:
            await broker.startup()
            started.append(broker)
        return broker

    yield factory
    for broker in started:
        if broker.is_connected:
            await broker.shutdown()


@pytest.fixture
async def redis_list(require_service: Callable[[str, str, int], None], names: Names) -> Any:
    """A Redis list unique to this test, where worker tasks record what they ran."""
    require_service("Redis", "127.0.0.1", 6379)
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    key = f"{names.prefix}:done"
    yield RecordList(client, key)
    await client.delete(key)
    await client.aclose()


@pytest.fixture
async def start_worker(
    names: Names,
    redis_list: RecordList,
    tmp_path: Path,
) -> AsyncIterator[WorkerStarter]:
    starter = WorkerStarter(names, redis_list.key, tmp_path)
    yield starter
    for worker in starter.workers:
        worker.kill()
